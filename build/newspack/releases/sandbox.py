"""After the build (releases), SQL: DuckDB connections that cannot touch the file system.

`newspack query` runs the user's SQL, on a DuckDB file that may come from a downloaded
release, and `newspack site` runs the README's examples; a view stored in a hostile file
is SQL too. Every such connection is opened with external access off and the configuration
locked, before any statement runs:

- no file is read or written (read_text, read_csv, COPY ... TO, EXPORT, ATTACH, PRAGMA
  profiling output), nothing is fetched from the network, no extension is installed or
  loaded, no Python variable is scanned by name, nothing spills to a temporary folder;
- a DuckDB file is opened read-only, so no statement changes it;
- a time limit (for the site) or Ctrl-C interrupts the statement.

What a query may do: read the tables and views of the one database it is given and compute
on them, in memory.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

# Settings fixed at connect time; lock_configuration refuses any SET or PRAGMA that would
# change them (or anything else) afterwards.
LOCKED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
    "temp_directory": "",
    "lock_configuration": True,
}


WAIT_STEP = 0.05  # seconds between looks at the time limit while a statement runs


class SQLError(RuntimeError):
    """A statement that failed, was refused by the sandbox, or ran out of time."""


def connect(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A locked connection: to a DuckDB file, read-only, or (None) a fresh in-memory database."""
    if database is None:
        return duckdb.connect(":memory:", config=LOCKED)
    return duckdb.connect(str(database), read_only=True, config=LOCKED)


FETCH_ROWS = 10_000  # rows fetched at a time when a result is counted, not kept


def run(
    con: duckdb.DuckDBPyConnection, sql: str, seconds: float | None = None
) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of `sql` (see run_counted)."""
    columns, rows, _ = run_counted(con, sql, seconds)
    return columns, rows


def run_counted(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    seconds: float | None = None,
    keep_rows: int | None = None,
) -> tuple[list[str], list[tuple], int]:
    """(column names, rows, row count) of `sql`, keeping only the first keep_rows rows when
    given (the rest are counted a batch at a time, never held); SQLError with DuckDB's
    first line of the reason, and KeyboardInterrupt when Ctrl-C stopped it.

    The statement runs in a worker thread while this one waits: a signal reaches Python
    only between bytecodes of the main thread, which DuckDB would hold until the statement
    ends (Ctrl-C did nothing), so the waiting thread takes Ctrl-C and the time limit and
    interrupts DuckDB."""
    outcome: dict[str, object] = {}
    done = threading.Event()  # not Thread.is_alive(): an interrupted join() can misreport it

    def execute() -> None:
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            if keep_rows is None:
                rows = cursor.fetchall()
                outcome["result"] = (columns, rows, len(rows))
                return
            rows = cursor.fetchmany(keep_rows) if keep_rows else []
            count = len(rows)
            while batch := cursor.fetchmany(FETCH_ROWS):
                count += len(batch)
            outcome["result"] = (columns, rows, count)
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error
        finally:
            done.set()

    worker = threading.Thread(target=execute, name="newspack-sql", daemon=True)
    deadline = None if seconds is None else time.monotonic() + seconds
    interrupted = expired = False
    try:
        worker.start()
    except KeyboardInterrupt:
        interrupted = True
    while not done.is_set():
        if deadline is not None and not expired and time.monotonic() > deadline:
            expired = True
        if interrupted or expired:
            # Again at every step: an interrupt that comes before DuckDB has started the
            # statement (a busy machine) is lost, and the statement would then run on.
            con.interrupt()
        try:
            done.wait(WAIT_STEP)
        except KeyboardInterrupt:
            interrupted = True
    worker.join()
    if interrupted:
        raise KeyboardInterrupt
    error = outcome.get("error")
    if error is None:
        return outcome["result"]  # type: ignore[return-value]
    if expired and isinstance(error, duckdb.InterruptException):
        raise SQLError(f"stopped after {seconds:.0f} s (the time limit)")
    if isinstance(error, duckdb.Error):
        raise SQLError(reason(error))
    raise error  # type: ignore[misc]


def reason(error: duckdb.Error) -> str:
    """DuckDB's message on one line (it adds the statement and a caret below)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    if "disabled by configuration" in first or "configuration has been locked" in first:
        first += " (queries may only read the tables and views; see `newspack query --help`)"
    return first
