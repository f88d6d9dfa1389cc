"""Shared fixtures: the real dumps built once into a temporary package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from newspack import pipeline
from newspack.config import REPO_DUMPS_DIR


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The package built from dumps/ into a temporary folder: (report, out_dir)."""
    out = tmp_path_factory.mktemp("package")
    report = pipeline.run(REPO_DUMPS_DIR, out)
    return report, out


@pytest.fixture(scope="session")
def tables(built):
    return built[0].tables
