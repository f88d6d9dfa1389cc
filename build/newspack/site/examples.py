"""After the build (the dataset site): the README's example queries, run on the package.

A fresh clone has the CSVs but no DuckDB file (it is a build output), so the site loads the
CSVs into a scratch DuckDB file, typed by the descriptor's field types and with the views
the published file carries, and runs each query on it with newspack's read-only runner.
Results are turned into text here, so that the pages never depend on the machine's time
zone or locale.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from newspack.site.package import Example, Package, SiteError, Table
from newspack.site.upstream import QueryError, duckdb_type, run_query, views_sql


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: list[str]
    rows: list[list[str | None]]


@dataclass(frozen=True)
class ExampleResult:
    intro: str
    results: list[QueryResult]


def run_examples(package: Package) -> list[ExampleResult]:
    """Every README example with the real results of its statements on this package."""
    if not package.examples:
        return []
    with tempfile.TemporaryDirectory(prefix="newspack-site-") as scratch:
        database = Path(scratch) / "examples.duckdb"
        load_database(package, database)
        return [_run_example(database, example) for example in package.examples]


def _run_example(database: Path, example: Example) -> ExampleResult:
    results = []
    for sql in example.statements:
        try:
            columns, rows = run_query(database, sql)
        except QueryError as error:
            # The README promises these queries work: a failure is a bug to fix, not to hide.
            raise SiteError(f"README.md: an example query failed: {error}\n{sql}") from error
        results.append(QueryResult(sql, columns, [[as_text(v) for v in row] for row in rows]))
    return ExampleResult(example.intro, results)


def load_database(package: Package, database: Path) -> None:
    """A DuckDB file holding every table of the package (from its CSVs) and the views."""
    with duckdb.connect(str(database)) as con:
        for table in package.tables.values():
            con.execute(_create_table_sql(table), [str(table.csv_path)])
        con.execute(views_sql())


def _create_table_sql(table: Table) -> str:
    # Read every column as text with the header checked against the schema, then cast by
    # the schema's types: no guessing of types or dialect from the data.
    fields = [(f["name"], duckdb_type(f.get("type", "string"))) for f in table.fields]
    if [name for name, _ in fields] != table.header:
        raise SiteError(f"{table.csv_path}: the header does not match the descriptor's fields")
    as_text_columns = ", ".join(f"{_literal(name)}: 'VARCHAR'" for name, _ in fields)
    casts = ", ".join(f"CAST({_ident(name)} AS {kind}) AS {_ident(name)}" for name, kind in fields)
    return (
        f"CREATE TABLE {_ident(table.name)} AS SELECT {casts} FROM read_csv(?, header = true, "
        f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {{{as_text_columns}}})"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
