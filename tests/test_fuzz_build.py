"""End-to-end property test: a format fuzz of the real dumps (lines deleted, duplicated,
joined, upper-cased) goes through the whole build — NLP, validation, CSVs, DuckDB — and the
build succeeds, accounts for every line and publishes a valid package.

A few examples run with the tests; `nox -s fuzz` runs many (NEWSPACK_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
from frictionless import Package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layouts import DUMP_002, real_lines
from newspack import pipeline

LINES = real_lines(DUMP_002)
EXAMPLES = int(os.environ.get("NEWSPACK_FUZZ_EXAMPLES", "2"))


@st.composite
def fuzzed_dump(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 20))):
        action = draw(st.sampled_from(["delete", "duplicate", "join", "upper"]))
        i = draw(st.integers(0, len(lines) - 2))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "join":
            lines[i : i + 2] = [lines[i] + lines[i + 1]]
        else:
            lines[i] = lines[i].upper()
    return "\n".join(lines) + "\n"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzzed_dump())
def test_a_fuzzed_dump_builds_into_a_valid_package(text):
    with tempfile.TemporaryDirectory() as scratch:
        dumps, out = Path(scratch) / "dumps", Path(scratch) / "out"
        dumps.mkdir()
        (dumps / "002_9dd43f1324fd2e02.txt").write_text(text, encoding="utf-8")
        report = pipeline.run(dumps, out, jobs=1, use_cache=False)  # validates the tables
        ledger = report.tables["line_ledger"]
        assert sorted(ledger["line"]) == list(range(1, len(text.split("\n"))))
        assert Package(str(out / "datapackage.json")).validate().valid
        with duckdb.connect(str(out / "dist" / "newspack.duckdb"), read_only=True) as con:
            for table, count in report.row_counts().items():
                assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (count,)
