"""After the build (the dataset site): the README's example queries, run on the package.

A fresh clone has the CSVs but no DuckDB file (it is a build output), so the site loads the
rows it has read (package.py) into an in-memory DuckDB database, typed by the descriptor's
field types and with the views the published file carries, and runs each query on it in
the releases' SQL sandbox: DuckDB never opens a file, so an example (the README is the
package's too) can read only the tables, and each has a time limit. Results are turned
into text here, so that the pages never depend on the machine's time zone or locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from newspack.site.package import Example, Package, SiteError, Table
from newspack.site.upstream import duckdb_type, query_seconds, quoted, sandbox, views_sql


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: list[str]
    rows: list[list[str | None]]


@dataclass(frozen=True)
class ExampleResult:
    intro: str
    results: list[QueryResult]


def run_examples(
    package: Package, con: duckdb.DuckDBPyConnection | None = None
) -> list[ExampleResult]:
    """Every README example with the real results of its statements on this package (in
    `con`, a sandboxed connection holding the package's tables, or a new one)."""
    if not package.examples:
        return []
    if con is not None:
        return [_run_example(con, example) for example in package.examples]
    with sandbox.connect() as con:
        load_database(package, con)
        return [_run_example(con, example) for example in package.examples]


def _run_example(con: duckdb.DuckDBPyConnection, example: Example) -> ExampleResult:
    results = []
    for sql in example.statements:
        try:
            columns, rows = sandbox.run(con, sql, query_seconds())
        except sandbox.SQLError as error:
            # The README promises these queries work: a failure is a bug to fix, not to hide.
            raise SiteError(f"README.md: an example query failed: {error}\n{sql}") from None
        results.append(QueryResult(sql, columns, [[as_text(v) for v in row] for row in rows]))
    return ExampleResult(example.intro, results)


def load_database(package: Package, con: duckdb.DuckDBPyConnection) -> None:
    """Every table of the package (from the rows read) and the views, in `con`."""
    for table in package.tables.values():
        frame = pa.table(
            {
                name: pa.array([row[i] or None for row in table.rows], pa.string())
                for i, name in enumerate(table.header)
            }
        )
        con.register("newspack_rows", frame)
        try:
            con.execute(_create_table_sql(table))
        except duckdb.Error as error:
            raise SiteError(f"{table.csv_path}: {sandbox.reason(error)}") from None
        finally:
            con.unregister("newspack_rows")
    try:
        con.execute(views_sql())
    except duckdb.Error as error:
        raise SiteError(
            f"{package.folder}: the views cannot be made ({sandbox.reason(error)})"
        ) from None


def _create_table_sql(table: Table) -> str:
    # Every column is text with the header checked against the schema, then cast by the
    # schema's types: no guessing of types from the data.
    try:
        fields = [(f["name"], duckdb_type(f.get("type", "string"))) for f in table.fields]
    except (KeyError, TypeError):
        raise SiteError(
            f"{table.csv_path}: a field type the package format does not have"
        ) from None
    if [name for name, _ in fields] != table.header:
        raise SiteError(f"{table.csv_path}: the header does not match the descriptor's fields")
    casts = ", ".join(f"CAST({quoted(name)} AS {kind}) AS {quoted(name)}" for name, kind in fields)
    return f"CREATE TABLE {quoted(table.name)} AS SELECT {casts} FROM newspack_rows"


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
