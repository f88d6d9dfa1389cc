"""Stages 5-8, the corpus's tables out of core: rows to Parquet files, DuckDB over them.

Identify and enrich (tables/assemble.py) hand their rows here as they make them; every
chunk_rows rows (of all tables together, sized from the memory limit) are appended to each
table's Parquet file in the build's scratch folder (owned by newspack, removed when the build
ends, and by the next build if this one is killed), so memory holds a chunk of rows, never a
table. What needs the whole corpus then runs as DuckDB queries over the files, under
DuckDB's memory limit (it spills to the scratch folder beyond it): the entities'
corpus-wide columns (tables/entities.py), the quotes' speaker names, the cross-table checks
of validation (package/validate.py) and the sorted reads that publishing streams
(package/publish.py). The Parquet files are written and read by this module only.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from newspack.package.ownership import make_owned_dir, remove_owned
from newspack.package.schema import column_names, duckdb_type, field_registry, primary_key
from newspack.tables.frames import STRING_DTYPE, Tables, check_keys, to_frame

CORPUS_PREFIX = ".newspack-tables-"  # the scratch folder of one build, in the output folder
CORPUS_KIND = "tables"  # its owner marker

# The corpus-level stages' memory (--memory-limit): by default an eighth of the machine's,
# within these bounds. Half of it is DuckDB's while it queries the tables, half the DuckDB
# file's while it loads (the two overlap when publishing); the rows waiting to be written
# are sized from it too.
MEMORY_LIMIT_BOUNDS = (512 * 2**20, 8 * 2**30)
MIN_MEMORY_LIMIT = 128 * 10**6  # what a --memory-limit may not go below (128MB)
ROW_BYTES = 2048  # a generous size of one row held as a dict (a paragraph's text, keys)
PENDING_SHARE = 8  # at most 1/PENDING_SHARE of the limit in rows waiting to be written
CHUNK_ROWS_BOUNDS = (1_000, 200_000)
MEMORY_PER_SORT_THREAD = 256 * 2**20  # a thread of a sorted COPY (write_csv) gets at least this
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}

# Arrow type -> pandas dtype of a published column (tables/frames.py types them the same way).
_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
}


def memory_bytes(limit: str) -> int:
    """Bytes of a memory limit written as DuckDB writes them: "2GB", "512MiB", "1.5 GB"."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)\s*", limit, re.IGNORECASE)
    unit = match and _UNITS.get(match.group(2).upper())
    if not match or unit is None:
        raise ValueError(f"memory limit {limit!r}: write it as a number and a unit, e.g. 4GB")
    found = int(float(match.group(1)) * unit)
    if found < MIN_MEMORY_LIMIT:
        raise ValueError(f"memory limit {limit!r}: the build needs at least 128MB")
    return found


def default_memory_limit() -> str:
    """An eighth of this machine's memory, within MEMORY_LIMIT_BOUNDS."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 * 2**30  # unknown: as if 8 GiB
    low, high = MEMORY_LIMIT_BOUNDS
    return f"{min(max(physical // 8, low), high) // 2**20}MiB"


def chunk_rows_for(limit: str) -> int:
    """Rows (of all tables) held before they are written, for a memory limit."""
    low, high = CHUNK_ROWS_BOUNDS
    return min(max(memory_bytes(limit) // PENDING_SHARE // ROW_BYTES, low), high)


def duckdb_share_bytes(limit: str) -> int:
    """Bytes one of the build's two DuckDB connections may use of the limit."""
    return memory_bytes(limit) // 2


def duckdb_share(limit: str) -> str:
    """duckdb_share_bytes in DuckDB's form."""
    return f"{duckdb_share_bytes(limit) // 2**20}MiB"


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow types of a published table's columns: those of its typed frame
    (tables/frames.py), so that rows written either way make one Parquet schema."""
    return pa.Schema.from_pandas(to_frame(table, []), preserve_index=False).remove_metadata()


def rows_to_arrow(table: str, rows: list[dict], internal: pa.Schema | None = None) -> pa.Table:
    """Rows of a published table as Arrow, checked against its schema (frames.RowMismatch)
    and typed by it; rows of an internal table by its Arrow schema (`internal`). Not
    sorted: DuckDB sorts each table once, when it is read for publishing."""
    if internal is not None:
        return _columns_to_arrow(rows, internal)
    check_keys(table, column_names(table), rows)
    try:
        return _columns_to_arrow(rows, arrow_schema(table))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a value of another Python type
        frame = to_frame(table, rows)
        return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


def _columns_to_arrow(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows as an Arrow table of the schema's columns (a missing key is a null, as in
    pa.Table.from_pylist): made column by column, which Arrow converts faster than dicts."""
    return pa.Table.from_pydict(
        {name: [row.get(name) for row in rows] for name in schema.names}, schema=schema
    )


def scalar(con: duckdb.DuckDBPyConnection, sql: str):
    """The one value a query gives (fetched whole: DuckDB refuses an unfinished result)."""
    return con.execute(sql).fetchall()[0][0]


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def typed_frame(table: str, batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """Rows read back from DuckDB as the frame tables/frames.py would have made of them."""
    frame = batch.to_pandas(types_mapper=_PANDAS_TYPES.get)
    if frame.empty:  # no rows: the schema's dtypes, not whatever an empty read gives
        return to_frame(table, [])
    return frame.astype({c: str(STRING_DTYPE) for c in frame.columns if frame[c].dtype == object})


class CorpusTables:
    """Each table's rows in a Parquet file of its own in `folder` (a row group per flush),
    and a DuckDB connection whose views (one per table, named as the table) read them.

    Rows wait in memory until all tables together hold chunk_rows of them; then every
    table's waiting rows become a row group. Published tables are typed by schemas/
    (tables/frames.py); the internal tables that stages make for corpus-wide queries
    (`internal`: name -> Arrow schema) by their maker.
    """

    def __init__(
        self,
        folder: Path,
        tables: list[str],
        internal: dict[str, pa.Schema] | None = None,
        memory_limit: str | None = None,
        chunk_rows: int | None = None,
    ):
        self.folder = folder
        self.internal = internal or {}
        self.memory_limit = memory_limit or default_memory_limit()
        self.chunk_rows = chunk_rows or chunk_rows_for(self.memory_limit)
        # Each table's rows waiting to be written: lists of row dicts, or Arrow tables made
        # elsewhere (a worker's), in the order they came.
        self._pending: dict[str, list[list[dict] | pa.Table]] = {
            t: [] for t in [*tables, *self.internal]
        }
        self._waiting = 0  # rows pending in all tables
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._files: dict[str, Path] = {}  # table -> its Parquet file, once written
        self._con: duckdb.DuckDBPyConnection | None = None

    # --- writing -------------------------------------------------------------------------

    def add(self, table: str, rows: list[dict] | pa.Table) -> None:
        """Append rows: dicts (checked and typed when written), or an Arrow table that
        rows_to_arrow made."""
        if not len(rows):
            return
        pieces = self._pending[table]
        if isinstance(rows, list) and pieces and isinstance(pieces[-1], list):
            pieces[-1].extend(rows)
        else:
            pieces.append(rows if isinstance(rows, pa.Table) else list(rows))
        self._waiting += len(rows)
        if self._waiting >= self.chunk_rows:
            for name in self._pending:
                self._flush(name)
            self._waiting = 0

    def add_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Append a typed frame of a published table's rows (tables/frames.py) at once."""
        self._write(table, pa.Table.from_pandas(frame, preserve_index=False))

    def _flush(self, table: str) -> None:
        pieces, self._pending[table] = self._pending[table], []
        if not pieces and table in self._writers:
            return
        schema = self.internal.get(table)
        arrow = [
            rows if isinstance(rows, pa.Table) else rows_to_arrow(table, rows, schema)
            for rows in pieces
        ]
        if not arrow:
            arrow = [rows_to_arrow(table, [], schema)]
        self._write(table, pa.concat_tables(arrow) if len(arrow) > 1 else arrow[0])

    def _write(self, table: str, arrow: pa.Table) -> None:
        arrow = arrow.replace_schema_metadata(None)
        if table not in self._writers:
            self._files[table] = self.folder / f"{table}.parquet"
            self._writers[table] = pq.ParquetWriter(self._files[table], arrow.schema)
        self._writers[table].write_table(arrow)

    def seal(self) -> duckdb.DuckDBPyConnection:
        """Write what is pending and open the DuckDB connection over every table's file."""
        for table in self._pending:
            self._flush(table)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        con = duckdb.connect(
            config={
                "memory_limit": duckdb_share(self.memory_limit),
                "temp_directory": str(self.folder / "duckdb-spill"),
                "preserve_insertion_order": False,
            }
        )
        for table in self._files:
            self._view(con, table)
        self._con = con
        return con

    def _view(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        source = self.parquet_source(table)
        con.execute(f"CREATE OR REPLACE VIEW {quoted(table)} AS SELECT * FROM {source}")

    def materialise(self, table: str, query: str) -> None:
        """Replace a table's view with the result of `query`, written once as a Parquet file
        (a query read several times, by validation and publishing, runs once)."""
        self._files[table] = self.folder / f"{table}.final.parquet"
        self.con.execute(f"COPY ({query}) TO {_literal(str(self._files[table]))} (FORMAT parquet)")
        self._view(self.con, table)

    def parquet_source(self, table: str) -> str:
        """SQL reading a table's Parquet file (for another DuckDB connection to load)."""
        return f"read_parquet({_literal(str(self._files[table]))})"

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("the corpus's tables are still being written: seal() them first")
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # --- reading -------------------------------------------------------------------------

    def count(self, table: str) -> int:
        return scalar(self.con, f"SELECT count(*) FROM {quoted(table)}")

    def batches(self, table: str, ordered: bool = True) -> Iterator[pd.DataFrame]:
        """The table's rows as typed frames of at most chunk_rows rows, in primary-key order
        (ordered) or as stored; at least one frame, empty for an empty table."""
        columns = ", ".join(quoted(c) for c in column_names(table))
        order = " ORDER BY " + ", ".join(quoted(c) for c in primary_key(table)) if ordered else ""
        query = f"SELECT {columns} FROM {quoted(table)}{order}"
        # A cursor of its own: a reader left unfinished blocks no other query.
        reader = self.con.cursor().sql(query).to_arrow_reader(self.chunk_rows)
        empty = True
        for batch in reader:
            if batch.num_rows:
                empty = False
                yield typed_frame(table, batch)
        if empty:
            yield to_frame(table, [])

    def write_csv(self, table: str, path: Path) -> bool:
        """Write the table as CSV in primary-key order by DuckDB (in parallel, out of core),
        with the bytes tables/frames.py write_csv gives: text cells quoted alike, no comment
        character, an empty text cell written as a missing one (pandas writes both empty),
        numbers in the same shortest form. False, writing nothing, for a table with a
        carriage return in a text cell, which DuckDB quotes and pandas does not."""
        columns, schema = column_names(table), arrow_schema(table)
        texts = [c for c in columns if pa.types.is_large_string(schema.field(c).type)]
        if texts and scalar(
            self.con,
            f"SELECT count(*) FROM {quoted(table)} WHERE "
            + " OR ".join(f"contains({quoted(c)}, chr(13))" for c in texts),
        ):
            return False
        select = ", ".join(
            f"NULLIF({quoted(c)}, '') AS {quoted(c)}" if c in texts else quoted(c) for c in columns
        )
        # Qualified, the keys are the stored values, not the select list's NULLIF of them.
        order = ", ".join(f"stored.{quoted(c)}" for c in primary_key(table))
        # Each thread of a sort that writes a file holds its own buffers: with little memory
        # per thread DuckDB runs out instead of spilling, so threads follow the memory.
        share = duckdb_share_bytes(self.memory_limit)
        threads = max(1, min(os.cpu_count() or 1, share // MEMORY_PER_SORT_THREAD))
        self.con.execute(f"SET threads = {threads}")
        try:
            self.con.execute(
                f"COPY (SELECT {select} FROM {quoted(table)} AS stored ORDER BY {order}) "
                f"TO {_literal(str(path))} (FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"', "
                "ESCAPE '\"', COMMENT '', NEW_LINE '\n')"
            )
        finally:
            self.con.execute("RESET threads")
        return True

    def frame(self, table: str) -> pd.DataFrame:
        """A whole table in memory, in primary-key order: for small corpora (tests,
        evaluation), never in the build."""
        frames = list(self.batches(table))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def in_memory(self, tables: list[str]) -> Tables:
        """Whole tables in memory (frame): for small corpora only."""
        return {table: self.frame(table) for table in tables}


def select_typed(table: str, source: str) -> str:
    """SELECT of a table's columns from `source`, each cast to its DuckDB type."""
    registry = field_registry()
    return (
        "SELECT "
        + ", ".join(
            f"CAST({quoted(c)} AS {duckdb_type(registry[c]['type'])}) AS {quoted(c)}"
            for c in column_names(table)
        )
        + f" FROM {source}"
    )


@contextmanager
def corpus_folder(out_dir: Path | None) -> Iterator[Path]:
    """An owned scratch folder for one build's tables: in the output folder (so that a
    killed build's is found and removed by the next, pipeline.remove_stale_folders), or
    a temporary one; removed when the build ends, however it ends."""
    if out_dir is None:
        parent = Path(tempfile.mkdtemp(prefix="newspack-tables-"))
        folder = make_owned_dir(parent / "tables", CORPUS_KIND)
    else:
        parent = None
        folder = make_owned_dir(out_dir / f"{CORPUS_PREFIX}{os.urandom(6).hex()}", CORPUS_KIND)
    try:
        yield folder
    finally:
        remove_owned(folder, CORPUS_KIND)
        if parent is not None:
            parent.rmdir()
