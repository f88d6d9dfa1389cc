"""The corpus's tables out of core (tables/corpus.py): the memory limit, and builds whose rows
go to disk in chunks of any size publishing the same bytes."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from newspack import pipeline
from newspack.dev.bench import make_corpus
from newspack.tables import corpus
from newspack.tables.corpus import CORPUS_PREFIX, chunk_rows_for, memory_bytes


@pytest.mark.parametrize(
    ("written", "expected"),
    [("2GB", 2 * 10**9), ("512MiB", 512 * 2**20), ("1.5 GB", 1_500_000_000), ("4gib", 4 * 2**30)],
)
def test_memory_limits_read_as_duckdb_writes_them(written, expected):
    assert memory_bytes(written) == expected


@pytest.mark.parametrize("written", ["", "lots", "2 parsecs", "-1GB", "12"])
def test_an_unreadable_or_tiny_memory_limit_is_refused_by_name(written):
    with pytest.raises(ValueError, match=repr(written)):
        memory_bytes(written)


def test_chunks_grow_with_the_limit_within_their_bounds():
    sizes = [chunk_rows_for(limit) for limit in ("128MB", "1GB", "4GB", "64GB")]
    assert sizes == sorted(sizes)
    low, high = corpus.CHUNK_ROWS_BOUNDS
    assert low <= sizes[0] < sizes[-1] == high


def test_a_build_refuses_a_bad_memory_limit_before_writing(tmp_path):
    with pytest.raises(ValueError, match="memory limit"):
        pipeline.run(tmp_path / "no-dumps-needed", tmp_path / "out", memory_limit="much")
    assert not (tmp_path / "out").exists()


def _same_package(a: Path, b: Path) -> None:
    names = sorted(p.name for p in (a / "data").iterdir())
    assert names == sorted(p.name for p in (b / "data").iterdir())
    same, mismatch, errors = filecmp.cmpfiles(a / "data", b / "data", names, shallow=False)
    assert (mismatch, errors) == ([], []) and sorted(same) == names
    assert (a / "datapackage.json").read_bytes() == (b / "datapackage.json").read_bytes()


def test_tiny_chunks_and_a_small_limit_publish_the_same_bytes(tmp_path, monkeypatch):
    """A synthetic corpus (4 dumps) built with the default limit and
    with rows written 5 at a time under the smallest limit: the same package, byte for byte,
    and no scratch folder left."""
    dumps, cache = tmp_path / "dumps", tmp_path / "cache"
    make_corpus(dumps, 24, seed=3)
    default = pipeline.run(dumps, tmp_path / "default", cache_dir=cache, jobs=1)
    monkeypatch.setattr(corpus, "chunk_rows_for", lambda limit: 5)
    small = pipeline.run(dumps, tmp_path / "small", cache_dir=cache, memory_limit="128MB", jobs=1)
    assert small.work["from_cache"] == small.work["dumps"]  # the same analyses, from the cache
    assert small.row_counts() == default.row_counts()
    _same_package(tmp_path / "default", tmp_path / "small")
    assert not list((tmp_path / "small").glob(f"{CORPUS_PREFIX}*"))
