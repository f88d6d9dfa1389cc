"""Stage 6, publish: write the CSVs, datapackage.json and the DuckDB file.

Everything is first written into a staging folder next to the target; the published files
are replaced only once the whole package is written and validated, so a failed build leaves
the previous package in place, and a journal lets the next build finish or undo a swap that a
crash interrupted. Outputs depend on the inputs only (no wall-clock time), byte for byte.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from newspack.config import (
    DATA_DIRNAME,
    DESCRIPTOR_NAME,
    DIST_DIRNAME,
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_NAME,
)
from newspack.frames import write_csv
from newspack.schema import (
    column_names,
    duckdb_ddl,
    field_registry,
    package_metadata,
    table_description,
    table_names,
    table_schema,
    tables_in_dependency_order,
)

Tables = dict[str, pd.DataFrame]
LOCK_NAME = ".newspack.lock"
JOURNAL_NAME = ".newspack-publish.json"
STAGING_PREFIX = ".newspack-staging-"
_DUCKDB_CASTS = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "datetime": "TIMESTAMPTZ",
}


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:  # in blocks: a table's CSV is not read into memory
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _resource(table: str, csv_path: Path) -> dict[str, Any]:
    title, description = table_description(table)
    return {
        "name": table,
        "type": "table",
        "path": f"{DATA_DIRNAME}/{table}.csv",
        "scheme": "file",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": title,
        "description": " ".join(description.split()),
        "bytes": csv_path.stat().st_size,
        "hash": "sha256:" + _sha256(csv_path),
        "schema": table_schema(table),
    }


def descriptor(tables: Tables, data_dir: Path) -> dict[str, Any]:
    """datapackage.json contents; `created` is the newest crawl time, not the build time."""
    meta = package_metadata()
    dumps = tables["dumps"]
    crawl_times = dumps["crawl_time"].dropna()
    package: dict[str, Any] = {
        "name": meta["name"],
        "title": meta["title"],
        "description": " ".join(meta["description"].split()),
        "version": meta["version"],
        "homepage": meta["homepage"],
        "keywords": meta["keywords"],
        "licenses": meta["licenses"],
        "sources": [
            {
                "title": row.file,
                "path": f"dumps/{row.file}",
                "sha256": row.sha256,
                "bytes": int(row.bytes),
            }
            for row in dumps.itertuples()
        ],
        "resources": [_resource(t, data_dir / f"{t}.csv") for t in table_names()],
    }
    if not crawl_times.empty:
        package["created"] = max(crawl_times)
    return package


def _views_sql() -> str:
    return resources.files("newspack").joinpath("views.sql").read_text(encoding="utf-8")


def write_duckdb(
    data_dir: Path, path: Path, wait_for: Callable[[str], object] = lambda table: None
) -> None:
    """A DuckDB file with every table (keys, comments) loaded from the CSVs, and the views.

    Tables are loaded in dependency order, each once wait_for(table) returns (its CSV is
    written), so the loading can run beside the writing of the CSVs that follow.
    """
    registry = field_registry()
    with duckdb.connect(str(path), config={"memory_limit": DUCKDB_MEMORY_LIMIT}) as con:
        for table in tables_in_dependency_order():
            wait_for(table)
            for statement in duckdb_ddl(table):
                con.execute(statement)
            select = ", ".join(
                f'CAST("{c}" AS {_DUCKDB_CASTS.get(registry[c]["type"], "VARCHAR")})'
                for c in column_names(table)
            )
            csv_path = (data_dir / f"{table}.csv").as_posix().replace("'", "''")
            con.execute(
                f'INSERT INTO "{table}" SELECT {select} FROM '
                f"read_csv('{csv_path}', header = true, all_varchar = true)"
            )
        con.execute(_views_sql())


class BuildLocked(RuntimeError):
    """Another build holds the lock on the output folder."""


@contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """Hold the output folder's lock for a whole build; refuse at once if another holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildLocked(
                f"another newspack build is writing to {out_dir} (pid {holder}); "
                "wait for it to finish, then build again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(a))


def _swap_dir(staged: Path, target: Path, parked: Path) -> None:
    """Put staged in target's place; the previous target ends up at `parked`."""
    if not target.exists():
        staged.rename(target)
    elif _exchange(staged, target):
        staged.rename(parked)
    else:  # two renames: recover() restores target if a crash falls between them
        target.rename(parked)
        staged.rename(target)


def after_step(step: str) -> None:
    """Called after each publishing step; a seam for tests that kill a build there."""


def _write_json(path: Path, content: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _data_matches(descriptor_path: Path, data_dir: Path) -> bool:
    """True when every CSV in data_dir has the hash the descriptor gives it."""
    package = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for resource in package["resources"]:
        csv_path = data_dir / Path(resource["path"]).name
        if not csv_path.exists() or "sha256:" + _sha256(csv_path) != resource["hash"]:
            return False
    return True


def recover(out_dir: Path) -> str | None:
    """Finish or undo a publication that a crash interrupted; say what was done.

    The journal names the staging folder. If the new descriptor is in place, the rest is
    put in place too (roll forward); otherwise the previous data/ is put back (roll back).
    """
    journal_path = out_dir / JOURNAL_NAME
    if not journal_path.exists():
        return None
    journal = json.loads(journal_path.read_text(encoding="utf-8"))
    staging = out_dir / journal["staging"]
    new_descriptor = staging / "new.json"
    target_descriptor = out_dir / DESCRIPTOR_NAME
    data, parked = out_dir / DATA_DIRNAME, staging / "previous-data"
    if target_descriptor.exists() and _sha256(target_descriptor) == journal["descriptor_sha256"]:
        staged_duckdb = staging / DUCKDB_NAME
        if staged_duckdb.exists():
            os.replace(staged_duckdb, journal["duckdb"])
        outcome = "finished an interrupted publication"
    else:
        # The previous data/ is parked, or still at the staging path when the crash fell
        # between the exchange and the parking; put it back.
        staged_data = staging / DATA_DIRNAME
        if parked.exists():
            previous = parked
        elif staged_data.exists() and data.exists() and _data_matches(new_descriptor, data):
            previous = staged_data
        else:
            previous = None  # the swap had not started: data/ is the previous one
        if previous is not None:
            _swap_dir(previous, data, staging / "discarded-data")
        outcome = "rolled back an interrupted publication"
    journal_path.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return outcome


def _write_csvs_and_duckdb(tables: Tables, data_dir: Path, duckdb_path: Path) -> None:
    """The CSVs, and the DuckDB file loaded from them in a second thread, each table as soon
    as its CSV is written: DuckDB works outside Python's lock, so the two overlap."""
    written = {table: threading.Event() for table in table_names()}
    with ThreadPoolExecutor(1) as loader:
        loading = loader.submit(write_duckdb, data_dir, duckdb_path, lambda t: written[t].wait())
        try:
            for table in tables_in_dependency_order():
                write_csv(tables[table], data_dir / f"{table}.csv")
                written[table].set()
        finally:
            for event in written.values():  # a failed write must not leave the loader waiting
                event.set()
        loading.result()


def publish(tables: Tables, out_dir: Path, duckdb_path: Path | None = None) -> dict[str, Path]:
    """Write the package into out_dir (data/, datapackage.json) and the DuckDB file.

    Everything is written into a staging folder first; then data/ is exchanged atomically,
    the descriptor and the DuckDB file replaced, each step recorded by a journal so that
    recover() can complete or undo a publication a crash interrupted. Call under build_lock.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    duckdb_path = (duckdb_path or out_dir / DIST_DIRNAME / DUCKDB_NAME).resolve()
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    data_dir, new_descriptor = staging / DATA_DIRNAME, staging / "new.json"
    try:
        data_dir.mkdir()
        _write_csvs_and_duckdb(tables, data_dir, staging / DUCKDB_NAME)
        package = descriptor(tables, data_dir)
        new_descriptor.write_text(
            json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    after_step("staged")
    _write_json(
        out_dir / JOURNAL_NAME,
        {
            "staging": staging.name,
            "descriptor_sha256": _sha256(new_descriptor),
            "duckdb": str(duckdb_path),
        },
    )
    _swap_dir(data_dir, out_dir / DATA_DIRNAME, staging / "previous-data")
    after_step("data")
    os.replace(new_descriptor, out_dir / DESCRIPTOR_NAME)
    after_step("descriptor")
    os.replace(staging / DUCKDB_NAME, duckdb_path)
    after_step("duckdb")
    (out_dir / JOURNAL_NAME).unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return {
        "data": out_dir / DATA_DIRNAME,
        "descriptor": out_dir / DESCRIPTOR_NAME,
        "duckdb": duckdb_path,
    }
