"""After the build (releases), query: run SQL on a package without setting anything up.

The local package's DuckDB file, or a released version's (downloaded and verified by
fetch.py, then its DuckDB file unpacked beside the zip once), opened read-only: a query can
read every table and view, never change them. Results as a table, CSV or JSON.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from newspack.config import DUCKDB_NAME

FORMATS = ("table", "csv", "json")
SUMS_NAME = "SHA256SUMS"  # in every release zip (release.write_release_zip)


class QueryError(RuntimeError):
    """A query that cannot run: no package, a bad release, or an SQL error (its message)."""


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _listed_sha256(archive: zipfile.ZipFile) -> str | None:
    """The DuckDB file's SHA-256 in the release's SHA256SUMS, if it lists one."""
    sums = archive.read(SUMS_NAME).decode("utf-8") if SUMS_NAME in archive.namelist() else ""
    return next(
        (line.split()[0] for line in sums.splitlines() if line.split()[1:] == [DUCKDB_NAME]),
        None,
    )


def duckdb_of_release(zip_path: Path) -> Path:
    """The DuckDB file of a verified release zip, unpacked once beside it and checked
    against the release's SHA256SUMS; a file of that name that is not the release's is
    never used nor replaced."""
    target = zip_path.with_name(zip_path.name + ".duckdb")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            expected = _listed_sha256(archive)
            if target.is_file() and expected and _sha256_of(target) == expected:
                return target
            if target.exists():
                raise QueryError(
                    f"{target}: not the DuckDB file of {zip_path.name} (its SHA-256 differs "
                    "from the release's SHA256SUMS); move it away to unpack the release"
                )
            data = archive.read(DUCKDB_NAME)
    except (zipfile.BadZipFile, KeyError) as error:
        raise QueryError(f"{zip_path}: no {DUCKDB_NAME} in this release ({error})") from error
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise QueryError(f"{zip_path}: its {DUCKDB_NAME} does not match its SHA256SUMS")
    handle, temporary = tempfile.mkstemp(dir=zip_path.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, target)
    return target


def run_query(database: Path, sql: str) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of `sql` on the DuckDB file, opened read-only."""
    if not database.is_file():
        raise QueryError(f"{database}: no DuckDB file here; build the package first")
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall()
    except duckdb.Error as error:
        raise QueryError(f"{database}: {error}") from error


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def as_csv(columns: list[str], rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[_plain(v) for v in row] for row in rows])
    return out.getvalue()


def as_json(columns: list[str], rows: list[tuple]) -> str:
    records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=2, default=str)
