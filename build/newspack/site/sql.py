"""After the build (the dataset site): the SQL page, where a reader runs SQL in the browser.

The site ships a Parquet copy of every table (`parquet/<table>.parquet`), written here from
the same typed database the example queries run on (database.py), so the page's tables and
the site's other pages come from one build. Each file is written straight into the site's
folder, ROW_GROUP_ROWS rows at a time in the table's order, never a whole table in memory;
its SHA-256 and size are taken from the written file, put on the page and checked by its
script before the engine loads them. The engine (engine.py) is DuckDB-WASM, given the tables
as Arrow read from the Parquet files by parquet-wasm, copied into `vendor/duckdb-wasm/` from
the pinned bundle; `sql.js` drives it. Without a bundle the page
says, in one message, that the engine was not bundled, and has no script.

The page holds its settings (tables, checksums, the views, the README's examples, the row
limits) as JSON in a data block the browser never executes, with `<` escaped so that no
text from the package can end the block. A Content-Security-Policy lets the page load and
connect to nothing but the site itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from newspack.site.engine import ENTRY, PARQUET_WASM, WASM, WORKER, Engine
from newspack.site.examples import ExampleResult
from newspack.site.markup import esc, html_table, link, table_page
from newspack.site.package import Package, SiteError
from newspack.site.upstream import quoted, sandbox, views_sql

PAGE = "sql.html"
SCRIPT = "sql.js"
VENDOR = "vendor/duckdb-wasm"
PARQUET_DIR = "parquet"
# Rows of a Parquet row group, and of a table held at once while its file is written.
ROW_GROUP_ROWS = 65_536
ROW_LIMIT = 10_000  # rows of a result read at most (and in the CSV download)
SHOWN_ROWS = 1_000  # rows of a result shown in the page's table
CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
)
SERVE = "python3 -m http.server --directory site 8000"


@dataclass(frozen=True)
class ParquetFile:
    table: str
    path: str  # in the site: parquet/<table>.parquet
    rows: int
    size: int  # bytes
    sha256: str


def write_parquet_files(
    package: Package, con: duckdb.DuckDBPyConnection, site: Path
) -> list[ParquetFile]:
    """A Parquet file of every table, from the typed tables in `con` (database.py), written
    into the folder `site`.

    The same rows give the same bytes: rows in the table's order, row groups of a fixed
    size, times as UTC whatever the machine's time zone, no writer metadata that changes
    between runs."""
    files = []
    for table in package.tables.values():
        relative = f"{PARQUET_DIR}/{table.name}.parquet"
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            reader = con.sql(f"SELECT * FROM {quoted(table.name)}").to_arrow_reader(ROW_GROUP_ROWS)
            rows = _write_parquet(reader, target)
        except duckdb.Error as error:
            raise SiteError(f"{table.csv_path}: {sandbox.reason(error)}") from None
        with target.open("rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        files.append(ParquetFile(table.name, relative, rows, target.stat().st_size, digest))
    return files


def _write_parquet(reader: pa.RecordBatchReader, target: Path) -> int:
    """The reader's rows written to `target`; how many there were."""
    schema = _utc(reader.schema)
    rows = 0
    with pq.ParquetWriter(target, schema, compression="zstd", store_schema=True) as writer:
        for group in _row_groups(reader, ROW_GROUP_ROWS):
            writer.write_table(group.cast(schema), row_group_size=ROW_GROUP_ROWS)
            rows += group.num_rows
        if not rows:  # an empty row group, as write_table gives an empty table: same bytes
            writer.write_table(schema.empty_table())
    return rows


def _row_groups(reader: pa.RecordBatchReader, size: int) -> Iterator[pa.Table]:
    """The reader's rows as tables of `size` rows (the last one fewer): the file's row
    groups then do not depend on how DuckDB happened to cut its batches."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        while count >= size:
            rows = pa.Table.from_batches(pending, reader.schema)
            yield rows.slice(0, size)
            rest = rows.slice(size)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, reader.schema)


def _utc(schema: pa.Schema) -> pa.Schema:
    fields = []
    for field in schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            field = field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def examples(results: list[ExampleResult]) -> list[dict[str, str]]:
    """The README's example statements, each with the sentence that introduces it."""
    out = []
    for example in results:
        for number, result in enumerate(example.results, 1):
            title = example.intro + (f" ({number})" if len(example.results) > 1 else "")
            out.append({"title": title, "sql": result.sql})
    return out


def page(
    package: Package,
    results: list[ExampleResult],
    parquet: list[ParquetFile],
    engine: Engine | None,
    missing: str,
) -> tuple[str, str, str]:
    """(head, body, footer) of the SQL page; `missing` says why there is no engine."""
    files = _files(package, parquet, engine)
    if engine is None:
        body = [
            "<h1>SQL</h1>",
            '<p class="status failed" id="sql-status">The SQL engine was not bundled with '
            f"this site: {esc(missing)}. Build the site where npm can reach its registry "
            "(<code>newspack site</code>) to run SQL here; meanwhile the "
            f"{link('examples.html', 'example queries')} show the README's queries with "
            "their results, and the files below open in DuckDB, pandas or polars.</p>",
            files,
        ]
        return "", "\n".join(body), "Works offline: no page of this site has a script."
    samples = examples(results)
    setup = {
        "version": package.version,
        "tables": [{"name": f.table, "file": f.path, "sha256": f.sha256} for f in parquet],
        "views": views_sql(),
        "examples": samples,
        "rowLimit": ROW_LIMIT,
        "shownRows": SHOWN_ROWS,
        "engine": {
            "version": engine.version,
            "worker": WORKER,
            "wasm": WASM,
            "parquet": PARQUET_WASM,
        },
    }
    options = "".join(
        f'<option value="{number}">{esc(sample["title"])}</option>'
        for number, sample in enumerate(samples)
    )
    first = samples[0]["sql"] if samples else "SELECT * FROM articles LIMIT 10"
    body = [
        "<h1>SQL</h1>",
        '<p class="lead">Ask the data your own question: SQL runs here, in your browser, on '
        f"the tables of version {esc(package.version)}, with DuckDB compiled to WebAssembly "
        f"(DuckDB-WASM {esc(engine.version)}, shipped with this site). Nothing leaves your "
        "machine. The tables and the views are those of <code>newspack.duckdb</code>; "
        f"a result is read up to {ROW_LIMIT:,} rows, and Stop ends a long query.</p>",
        # Replaced by the script as it starts; what stays where it cannot.
        '<p class="status" id="sql-status" role="status">The SQL engine has not started. '
        "It needs JavaScript, and the site served over http(s): browsers start no "
        "WebAssembly worker for a page opened from a file. Serve the site folder, e.g. "
        f"<code>{esc(SERVE)}</code>, and open <code>http://localhost:8000/{PAGE}</code>.</p>",
        '<form id="sql-form" class="sql">',
        '<p><label for="sql-example">An example from the README:</label> '
        f'<select id="sql-example">{options}</select></p>',
        '<p><label for="sql-editor">SQL (one statement)</label></p>',
        '<textarea id="sql-editor" rows="10" spellcheck="false" autocapitalize="off">'
        f"{esc(first)}</textarea>",
        '<p class="actions"><button type="submit" id="sql-run" disabled>Run</button> '
        '<button type="button" id="sql-stop" disabled>Stop</button> '
        '<a id="sql-csv" download="result.csv" hidden>Download the result as CSV</a></p>',
        "</form>",
        '<p id="sql-note" class="rows" aria-live="polite"></p>',
        '<pre id="sql-error" class="error" hidden></pre>',
        '<div id="sql-result"></div>',
        files,
        '<script type="application/json" id="sql-setup">' + _json(setup) + "</script>",
        f'<script type="module" src="{SCRIPT}"></script>',
    ]
    head = f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
    footer = "This page runs DuckDB-WASM from this site; every other page works without script."
    return head, "\n".join(body), footer


def _files(package: Package, parquet: list[ParquetFile], engine: Engine | None) -> str:
    rows = [
        [
            link(table_page(f.table), f.table),
            link(f.path, f.path.rsplit("/", 1)[-1]),
            f'<span class="count">{f.rows}</span>',
            f"{f.size}",
            f"<code>{f.sha256}</code>",
        ]
        for f in parquet
    ]
    text = [
        '<h2 id="files">The files</h2>',
        f"<p>Parquet copies of the tables of version <strong>{esc(package.version)}</strong>, "
        "written with the rest of this site from the same package (the script checks each "
        "file against this SHA-256 before loading it):</p>",
        html_table(["table", "file", "rows", "bytes", "SHA-256"], rows, "parquet"),
    ]
    if engine is not None:
        engine_rows = [
            [link(f"{VENDOR}/{name}", name), f"<code>{esc(digest)}</code>"]
            for name, digest in sorted(engine.files.items())
        ]
        text += [
            f"<p>The engine: npm's <code>@duckdb/duckdb-wasm</code> {esc(engine.version)} "
            f"(integrity <code>{esc(engine.integrity)}</code>), with parquet-wasm reading the "
            "Parquet files for it, their ES modules bundled with Apache Arrow into "
            f"<code>{ENTRY}</code>:</p>",
            html_table(["file", "SHA-256"], engine_rows, "engine"),
        ]
    return "\n".join(text)


def _json(value: object) -> str:
    """JSON for a data block: `<`, `>` and `&` escaped, so no text can close the block."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
