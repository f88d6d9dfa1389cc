"""After the build (the dataset site): the README's example queries, run on the package.

The queries run on the package's tables as loaded into a scratch DuckDB file (database.py),
opened read-only in the releases' SQL sandbox: an example (the README is the package's too)
can read only the tables and views of that file, never another file, and each has a time
limit. Results are turned into text here, so that the pages never depend on the machine's
time zone or locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb

from newspack.site.database import package_database
from newspack.site.package import Example, Package, SiteError
from newspack.site.upstream import query_seconds, sandbox

RESULT_ROWS = 20  # rows kept (and shown) of an example query's result; the rest are counted


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: list[str]
    rows: list[list[str | None]]  # the first RESULT_ROWS
    count: int  # rows in the whole result


@dataclass(frozen=True)
class ExampleResult:
    intro: str
    results: list[QueryResult]


def run_examples(
    package: Package, con: duckdb.DuckDBPyConnection | None = None
) -> list[ExampleResult]:
    """Every README example with the real results of its statements on this package (in
    `con`, a sandboxed connection holding the package's tables, or a scratch database)."""
    if not package.examples:
        return []
    if con is not None:
        return [_run_example(con, example) for example in package.examples]
    with package_database(package) as con:
        return [_run_example(con, example) for example in package.examples]


def _run_example(con: duckdb.DuckDBPyConnection, example: Example) -> ExampleResult:
    results = []
    for sql in example.statements:
        try:
            columns, rows, count = sandbox.run_counted(con, sql, query_seconds(), RESULT_ROWS)
        except sandbox.SQLError as error:
            # The README promises these queries work: a failure is a bug to fix, not to hide.
            raise SiteError(f"README.md: an example query failed: {error}\n{sql}") from None
        rows = [[as_text(v) for v in row] for row in rows]
        results.append(QueryResult(sql, columns, rows, count))
    return ExampleResult(example.intro, results)


def as_text(value) -> str | None:
    """A result value as the page shows it; None stays None (shown as NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # DuckDB gives the session's zone: show UTC, as the CSVs do
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return str(value)
