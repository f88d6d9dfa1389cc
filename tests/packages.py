"""The committed package, copied for a test that reads a package folder (site, releases)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ["datapackage.json", "README.md", "CHANGELOG.md", "releases.json"]


def copy_package(folder: Path) -> Path:
    """A copy of the committed package (its files and data/) in folder/package."""
    package = folder / "package"
    package.mkdir()
    for name in PACKAGE_FILES:
        shutil.copyfile(REPO / name, package / name)
    shutil.copytree(REPO / "data", package / "data")
    return package
