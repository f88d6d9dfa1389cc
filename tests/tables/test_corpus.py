"""The corpus's tables out of core (tables/corpus.py): the memory limit, and builds whose rows
go to disk in chunks of any size publishing the same bytes."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newspack import pipeline
from newspack.dev.bench import make_corpus
from newspack.package.publish import write_table_csv
from newspack.package.schema import column_names, field_registry, primary_key
from newspack.tables import corpus
from newspack.tables.corpus import (
    CORPUS_PREFIX,
    CorpusTables,
    chunk_rows_for,
    corpus_folder,
    memory_bytes,
)
from newspack.tables.frames import write_csv


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
    """A synthetic corpus (4 dumps) built with the default limit and with rows written 12 at
    a time (each table of more rows in several chunks) under the smallest limit: the same
    package, byte for byte, and no scratch folder left."""
    dumps, cache = tmp_path / "dumps", tmp_path / "cache"
    make_corpus(dumps, 24, seed=3)
    default = pipeline.run(dumps, tmp_path / "default", cache_dir=cache, jobs=1)
    monkeypatch.setattr(corpus, "chunk_rows_for", lambda limit: 12)
    small = pipeline.run(dumps, tmp_path / "small", cache_dir=cache, memory_limit="128MB", jobs=1)
    assert small.work["from_cache"] == small.work["dumps"]  # the same analyses, from the cache
    assert small.row_counts() == default.row_counts()
    _same_package(tmp_path / "default", tmp_path / "small")
    assert not list((tmp_path / "small").glob(f"{CORPUS_PREFIX}*"))


def _cells(kind: str):
    """Any value a published cell of a Frictionless type may hold (None: missing)."""
    values = {
        "string": st.text(max_size=12),  # quotes, commas, newlines, "#", carriage returns
        "integer": st.integers(-(2**62), 2**62),
        "number": st.floats(allow_nan=False, allow_infinity=False),
        "boolean": st.booleans(),
    }.get(kind, st.text(max_size=12))  # dates and times are kept as their text

    return st.none() | values


@st.composite
def _rows(draw, table: str) -> list[dict]:
    registry = field_registry()
    fields = {c: _cells(registry[c]["type"]) for c in column_names(table)}
    keys = primary_key(table)
    rows = draw(st.lists(st.fixed_dictionaries(fields), max_size=30))
    unique = {tuple(str(row[k]) for k in keys): row for row in rows}  # one row per key
    return list(unique.values())


@pytest.mark.parametrize("table", ["figures", "article_versions"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_duckdb_writes_a_table_with_the_bytes_pandas_writes(table, data):
    """DuckDB's CSV (publishing) against pandas's (tables/frames.py write_csv), on random
    text and numbers: the same bytes, or DuckDB declines (a carriage return in a text cell)
    and publishing falls back to pandas."""
    rows = data.draw(_rows(table))
    with corpus_folder(None) as folder:
        tables = CorpusTables(folder, [table])
        tables.add(table, rows)
        tables.seal()
        try:
            by_pandas, by_duckdb, published = folder / "p.csv", folder / "d.csv", folder / "t.csv"
            for number, frame in enumerate(tables.batches(table)):
                write_csv(frame, by_pandas, header=number == 0)
            written = tables.write_csv(table, by_duckdb)
            carriage_return = any(
                isinstance(v, str) and "\r" in v for r in rows for v in r.values()
            )
            assert written is not carriage_return
            if written:
                assert by_duckdb.read_bytes() == by_pandas.read_bytes()
            write_table_csv(tables, table, published)
            assert published.read_bytes() == by_pandas.read_bytes()
        finally:
            tables.close()


@pytest.mark.parametrize("table", ["figures", "mentions"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rows_become_the_arrow_table_arrow_makes_of_them(table, data):
    """rows_to_arrow builds its table column by column; it must equal Arrow's own reading
    of the dicts, for a published table's schema and for an internal schema (its names)."""
    rows = data.draw(_rows(table))
    schema = corpus.arrow_schema(table)
    assert corpus.rows_to_arrow(table, rows).equals(pa.Table.from_pylist(rows, schema=schema))
    internal = pa.schema([pa.field(c, pa.large_string()) for c in ("name", "surface")])
    texts = [{k: v for k, v in row.items() if k in internal.names} for row in rows]
    assert corpus.rows_to_arrow("x", texts, internal).equals(
        pa.Table.from_pylist(texts, schema=internal)
    )
