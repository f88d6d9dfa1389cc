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


class SQLError(RuntimeError):
    """A statement that failed, was refused by the sandbox, or ran out of time."""


def connect(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A locked connection: to a DuckDB file, read-only, or (None) a fresh in-memory database."""
    if database is None:
        return duckdb.connect(":memory:", config=LOCKED)
    return duckdb.connect(str(database), read_only=True, config=LOCKED)


def run(
    con: duckdb.DuckDBPyConnection, sql: str, seconds: float | None = None
) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of `sql`; SQLError with DuckDB's first line of the reason, and
    KeyboardInterrupt when Ctrl-C stopped it."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        con.interrupt()

    timer = threading.Timer(seconds, expire) if seconds else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    except duckdb.InterruptException:
        if expired.is_set():
            raise SQLError(f"stopped after {seconds:.0f} s (the time limit)") from None
        raise KeyboardInterrupt from None
    except duckdb.Error as error:
        raise SQLError(reason(error)) from None
    except RuntimeError as error:
        # DuckDB's own SIGINT handler ends a running statement with this RuntimeError.
        if "interrupted" in str(error).lower():
            raise KeyboardInterrupt from None
        raise
    finally:
        if timer is not None:
            timer.cancel()


def reason(error: duckdb.Error) -> str:
    """DuckDB's message on one line (it adds the statement and a caret below)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    if "disabled by configuration" in first or "configuration has been locked" in first:
        first += " (queries may only read the tables and views; see `newspack query --help`)"
    return first
