"""After the build (the dataset site): the package's tables in a scratch DuckDB file.

A fresh clone has the CSVs but no DuckDB file (it is a build output), so the site loads
every table into a DuckDB file of its own: each CSV streamed CHUNK_ROWS rows at a time
(package.read_chunks), every cell read as text (an empty one as NULL) and cast by the
descriptor's field types, so that no type is guessed from the data; then the views the
published file carries. The loading connection has a memory limit and may spill to the
scratch folder, so no table is ever whole in memory; rows keep the CSV's order (DuckDB
preserves insertion order), which the Parquet files follow.

Everything else (the README's examples, the charts, the counts, the Parquet files) reads
the file through the releases' SQL sandbox, read-only. The file lives in a scratch folder
newspack makes and marks beside the site's own (never inside it) and removes when the
site is written or has failed. A run holds a lock on its scratch folder while it lives; a
folder left by a run that was killed (no lock held) is removed by the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from newspack.site.package import CHUNK_ROWS, Package, SiteError, Table, read_chunks
from newspack.site.upstream import (
    OWNER_MARKER_NAME,
    duckdb_type,
    make_owned_dir,
    owned,
    quoted,
    remove_owned,
    sandbox,
    views_sql,
)

SCRATCH_KIND = "site-database"  # the kind written in the scratch folder's owner marker
SCRATCH_PREFIX = ".newspack-site-db-"
DATABASE_NAME = "package.duckdb"
LOCK_NAME = "in-use.lock"  # held by the run that made the folder, while it runs
SPILL_DIR = "spill"
# Enough for DuckDB to cast and append a chunk; what does not fit spills to the scratch folder.
MEMORY_LIMIT = "1GB"
# Every setting of the sandbox that does not stop the loading connection writing its file.
LOADING = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
    "memory_limit": MEMORY_LIMIT,
    "preserve_insertion_order": True,
}
# Seconds after which an unlocked scratch folder is a killed run's (one just made is not yet
# locked: mkdir, then the lock).
ABANDONED_AFTER = 60
ROWS_VIEW = "newspack_rows"  # the name a chunk is registered under while it is inserted


@contextlib.contextmanager
def package_database(
    package: Package, parent: Path | None = None, chunk_rows: int = CHUNK_ROWS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A sandboxed, read-only connection to the package's tables and views, loaded into a
    scratch folder made in `parent` (a temporary folder without one), removed afterwards
    whatever happens."""
    with contextlib.ExitStack() as stack:
        if parent is None:
            parent = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newspack-")))
        remove_abandoned(parent)
        scratch = make_owned_dir(parent / f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}", SCRATCH_KIND)
        stack.callback(remove_owned, scratch, SCRATCH_KIND)
        in_use = _hold(scratch)
        if in_use is None:  # another run took it for abandoned in the instant it had no lock
            raise SiteError(f"{scratch}: the site's scratch folder was taken; build again")
        stack.callback(os.close, in_use)
        path = scratch / DATABASE_NAME
        load_database(package, path, chunk_rows)
        yield stack.enter_context(sandbox.connect(path))


def _hold(folder: Path) -> int | None:
    """An open descriptor of the lock file in `folder`, holding its lock, or None when
    another holds it. A run holds its scratch folder's lock until the folder is removed: a
    folder whose lock nobody holds was left by a run that was killed. The lock is a regular
    file (never a link's target) opened for writing, as flock needs on every filesystem."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    handle = os.open(folder / LOCK_NAME, flags, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OSError(f"{folder / LOCK_NAME}: not a regular file")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return None
    except BaseException:
        os.close(handle)
        raise
    return handle


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the scratch folders in `parent` that killed site builds left: newspack's own
    (owner marker), unlocked, and older than ABANDONED_AFTER seconds (a folder a run has just
    made is not locked yet). A running build's folder is never taken. The folders removed."""
    removed = []
    for folder in sorted(parent.glob(f"{SCRATCH_PREFIX}*")):
        try:
            if not owned(folder, SCRATCH_KIND) or _age(folder) < ABANDONED_AFTER:
                continue
            handle = _hold(folder)
        except OSError:  # gone meanwhile, or not a folder newspack can open: not ours to take
            continue
        if handle is None:
            continue
        try:
            if remove_owned(folder, SCRATCH_KIND):
                removed.append(folder)
        finally:
            os.close(handle)
    return removed


def _age(folder: Path) -> float:
    """Seconds since the folder was made: its owner marker is written then, and never again
    (the folder's own time changes with every file made in it)."""
    return time.time() - (folder / OWNER_MARKER_NAME).lstat().st_mtime


def load_database(package: Package, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
    """Every table of the package (streamed from its CSV) and the views, in a new DuckDB
    file at `path`; spilled data goes beside it."""
    settings = {**LOADING, "temp_directory": str(path.parent / SPILL_DIR)}
    with duckdb.connect(str(path), config=settings) as con:
        for table in package.tables.values():
            _load_table(package, table, con, chunk_rows)
        try:
            con.execute(views_sql())
        except duckdb.Error as error:
            raise SiteError(
                f"{package.folder}: the views cannot be made ({sandbox.reason(error)})"
            ) from None
        con.execute("CHECKPOINT")


def _load_table(
    package: Package, table: Table, con: duckdb.DuckDBPyConnection, chunk_rows: int
) -> None:
    columns = _columns(table)
    _execute(con, table, _create_table_sql(table.name, columns))
    insert = _insert_sql(table.name, columns)
    # Closed here, not when collected: a failed chunk leaves no CSV open behind it.
    with contextlib.closing(read_chunks(package.source, table, chunk_rows)) as chunks:
        for chunk in chunks:
            con.register(ROWS_VIEW, _text_frame(table.header, chunk))
            try:
                _execute(con, table, insert)
            finally:
                con.unregister(ROWS_VIEW)


def _execute(con: duckdb.DuckDBPyConnection, table: Table, sql: str) -> None:
    try:
        con.execute(sql)
    except duckdb.Error as error:
        raise SiteError(f"{table.csv_path}: {sandbox.reason(error)}") from None


def _columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each field; the header was checked against them when read."""
    try:
        return [(f["name"], duckdb_type(f.get("type", "string"))) for f in table.fields]
    except (KeyError, TypeError):
        raise SiteError(
            f"{table.csv_path}: a field type the package format does not have"
        ) from None


def _create_table_sql(name: str, columns: list[tuple[str, str]]) -> str:
    definitions = ", ".join(f"{quoted(column)} {kind}" for column, kind in columns)
    return f"CREATE TABLE {quoted(name)} ({definitions})"


def _insert_sql(name: str, columns: list[tuple[str, str]]) -> str:
    # Every column arrives as text and is cast by the schema's type: no guessing from data.
    casts = ", ".join(f"CAST({quoted(column)} AS {kind})" for column, kind in columns)
    return f"INSERT INTO {quoted(name)} SELECT {casts} FROM {ROWS_VIEW}"


def _text_frame(header: list[str], rows: list[list[str]]) -> pa.Table:
    """The rows as Arrow text columns, an empty cell as NULL (as the CSVs write NULL)."""
    columns = [pa.array([row[i] or None for row in rows], pa.string()) for i in range(len(header))]
    return pa.Table.from_arrays(columns, names=header)


def row_counts(package: Package, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every table, counted in the database."""
    counts = {}
    for name in package.tables:
        [(count,)] = con.execute(f"SELECT count(*) FROM {quoted(name)}").fetchall()
        counts[name] = count
    return counts
