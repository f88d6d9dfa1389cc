"""After the build (releases), query: run SQL on a package without setting anything up.

The local package's DuckDB file, or a released version's (downloaded and verified by
fetch.py, then its DuckDB file unpacked beside the zip once, checked against the release's
SHA256SUMS), opened read-only in the sandbox (sandbox.py): a query can read every table
and view and compute on them, never change them nor reach a file, the network or an
extension. Results as a table, CSV or JSON, escaped for the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from newspack.config import DUCKDB_NAME
from newspack.releases import sandbox
from newspack.releases.untrusted import (
    SUMS_NAME,
    Archive,
    Hashing,
    PackageError,
    Refused,
    sha256_of,
    shown,
)

FORMATS = ("table", "csv", "json")


class QueryError(RuntimeError):
    """A query that cannot run: no package, a bad release, or an SQL error (its message)."""


def _listed_sha256(release: Archive) -> str | None:
    """The DuckDB file's SHA-256 in the release's SHA256SUMS, if it lists one."""
    if not release.has(SUMS_NAME):
        return None
    sums = release.read(SUMS_NAME).decode("utf-8", "replace")
    return next(
        (line.split()[0] for line in sums.splitlines() if line.split()[1:] == [DUCKDB_NAME]),
        None,
    )


def duckdb_of_release(zip_path: Path) -> Path:
    """The DuckDB file of a verified release zip, unpacked once beside it (streamed, within
    the release's size caps) and checked against the release's SHA256SUMS; a file of that
    name that is not the release's is never used nor replaced."""
    target = zip_path.with_name(zip_path.name + ".duckdb")
    try:
        with Archive(zip_path) as release:
            expected = _listed_sha256(release)
            if not expected:
                raise QueryError(f"{zip_path}: its {SUMS_NAME} lists no {DUCKDB_NAME}")
            if os.path.lexists(target):
                if target.is_file() and not target.is_symlink() and sha256_of(target) == expected:
                    return target
                raise QueryError(
                    f"{target}: not the DuckDB file of {zip_path.name} (its SHA-256 differs "
                    "from the release's SHA256SUMS); move it away to unpack the release"
                )
            _unpack(release, expected, target)
    except Refused as error:
        raise QueryError(str(error)) from None
    return target


def _unpack(release: Archive, expected: str, target: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as sink, release.open(DUCKDB_NAME) as stream:
            hashing = Hashing(sink)
            for block in iter(lambda: stream.read(1 << 20), b""):
                hashing.write(block)
        if hashing.digest.hexdigest() != expected:
            raise PackageError(f"{release.where}: its {DUCKDB_NAME} does not match its SHA256SUMS")
        os.replace(temporary, target)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def run_query(database: Path, sql: str, seconds: float | None = None) -> tuple[list[str], list]:
    """(column names, rows) of `sql` on the DuckDB file, in the sandbox: read-only, no file,
    network or extension access. KeyboardInterrupt when Ctrl-C stops it."""
    if not database.is_file():
        raise QueryError(f"{database}: no DuckDB file here; build the package first")
    try:
        with sandbox.connect(database) as con:
            return sandbox.run(con, sql, seconds)
    except sandbox.SQLError as error:
        raise QueryError(f"{database}: {error}") from None
    except duckdb.Error as error:  # the file itself cannot be opened
        raise QueryError(f"{database}: {sandbox.reason(error)}") from None


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def as_csv(columns: list[str], rows: list[tuple], terminal: bool = False) -> str:
    """CSV of the result; for a terminal, control characters in values are escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    clean = shown if terminal else str
    writer.writerow([clean(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else clean(_plain(v)) for v in row])
    return out.getvalue()


def as_json(columns: list[str], rows: list[tuple]) -> str:
    """JSON of the result; every character a terminal could act on is a \\u escape."""
    records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    text = json.dumps(records, ensure_ascii=False, indent=2, default=str)
    # Outside strings JSON here is ASCII punctuation, spaces and newlines: what is not
    # printable can only sit inside a string, where \\uXXXX means the same character.
    return "".join(c if c.isprintable() or c == "\n" else _json_escape(c) for c in text)


def _json_escape(character: str) -> str:
    units = character.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
