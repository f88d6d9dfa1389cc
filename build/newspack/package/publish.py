"""Stage 8, publish: write the CSVs, datapackage.json and the DuckDB file.

Every table is streamed from the corpus's tables on disk (tables/corpus.py) in primary-key
order, a batch of rows at a time: the CSVs are written batch by batch, and DuckDB loads its
file from the Parquet files itself, so no table is ever held in memory whole.

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
import stat
import tempfile
from collections.abc import Iterator
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
    DUCKDB_NAME,
)
from newspack.package.ownership import (
    NotOwned,
    check_duckdb_place,
    check_duckdb_target,
    mark,
    owned,
    remove_owned,
)
from newspack.package.schema import (
    duckdb_ddl,
    package_metadata,
    primary_key,
    table_description,
    table_names,
    table_schema,
    tables_in_dependency_order,
)
from newspack.tables.corpus import CorpusTables, duckdb_share, quoted, select_typed
from newspack.tables.frames import write_csv

LOCK_NAME = ".newspack.lock"
JOURNAL_NAME = ".newspack-publish.json"
STAGING_PREFIX = ".newspack-staging-"
STAGING_KIND = "staging"  # owner marker of a staging folder


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


def descriptor(dumps: pd.DataFrame, data_dir: Path) -> dict[str, Any]:
    """datapackage.json contents; `created` is the newest crawl time, not the build time."""
    meta = package_metadata()
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
    return resources.files("newspack.package").joinpath("views.sql").read_text(encoding="utf-8")


def write_duckdb(corpus: CorpusTables, path: Path) -> None:
    """A DuckDB file with every table (keys, comments), loaded by DuckDB from the corpus's
    Parquet files in primary-key order, and the views. Loading the validated files (not
    re-reading the CSVs) keeps DuckDB's CSV reader and its limits (line size, dialect
    sniffing) out of the build."""
    config = {"memory_limit": duckdb_share(corpus.memory_limit)}
    with duckdb.connect(str(path), config=config) as con:
        for table in tables_in_dependency_order():
            for statement in duckdb_ddl(table):
                con.execute(statement)
            keys = ", ".join(quoted(c) for c in primary_key(table))
            source = select_typed(table, corpus.parquet_source(table))
            con.execute(f"INSERT INTO {quoted(table)} {source} ORDER BY {keys}")
        con.execute(_views_sql())


class BuildLocked(RuntimeError):
    """Another build holds the lock on the output folder."""


# Output folders whose lock this process holds: a release holds it from start to end and
# builds inside it (flock would refuse a second hold from the same process).
_HELD: set[Path] = set()


@contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """Hold the output folder's lock for a whole build; refuse at once if another holds it
    (another process, or this one: a build never nests inside another's hold by accident;
    a release that builds under its own hold says so, held_lock()).

    The lock file is opened without following a link (a link planted there would make the
    build write to its target) and only written to once the lock is held.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    held = out_dir.resolve()
    path = out_dir / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags, 0o644)
    except OSError as error:
        raise BuildLocked(
            f"{path}: cannot be used as the build's lock ({error.strerror}; a symbolic link "
            "or a folder there is refused): remove it"
        ) from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise BuildLocked(f"{path}: not a regular file, cannot be the build's lock; remove it")
    with os.fdopen(handle, "r+", encoding="utf-8") as stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = stream.read(32).strip() or "unknown"
            raise BuildLocked(
                f"another newspack build is writing to {out_dir} (pid {holder}); "
                "wait for it to finish, then build again"
            ) from None
        stream.seek(0)
        stream.truncate()
        stream.write(str(os.getpid()))
        stream.flush()
        _HELD.add(held)
        try:
            yield
        finally:
            _HELD.discard(held)
            fcntl.flock(stream, fcntl.LOCK_UN)


@contextmanager
def held_lock(out_dir: Path) -> Iterator[None]:
    """For a caller that holds the folder's lock already (a release building under its
    hold): checks that this process does hold it, and takes nothing."""
    if out_dir.resolve() not in _HELD:
        raise RuntimeError(f"{out_dir}: its build lock is not held by this process")
    yield


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


def write_atomic(path: Path, content: dict | bytes) -> None:
    """Write atomically (JSON for a dict): a fresh temporary file (never a link's target),
    flushed to disk, then a rename."""
    if isinstance(content, dict):
        content = (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _data_matches(descriptor_path: Path, data_dir: Path) -> bool:
    """True when every CSV in data_dir has the hash the descriptor gives it."""
    try:
        package = json.loads(descriptor_path.read_text(encoding="utf-8"))
        resources = list(package["resources"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for resource in resources:
        csv_path = data_dir / Path(resource["path"]).name
        if not csv_path.exists() or "sha256:" + _sha256(csv_path) != resource["hash"]:
            return False
    return True


MAX_JOURNAL_BYTES = 64 * 1024  # a journal is a few hundred bytes


def read_journal(path: Path, keys: set[str], prefix: str = STAGING_PREFIX) -> dict:
    """A journal's content, read as untrusted: never through a link, never a pipe or a
    device, never more than MAX_JOURNAL_BYTES, holding `keys` and naming a staging folder
    (ValueError otherwise)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    handle = os.open(path, flags)
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise ValueError("not a regular file")
        content = stream.read(MAX_JOURNAL_BYTES + 1)
    if len(content) > MAX_JOURNAL_BYTES:
        raise ValueError("too large to be a journal")
    try:
        journal = json.loads(content)
    except RecursionError:
        raise ValueError("nested too deeply to be a journal") from None
    if not isinstance(journal, dict) or not {"staging", *keys} <= journal.keys():
        raise ValueError("not a journal")
    name = str(journal["staging"])
    if "/" in name or not name.startswith(prefix):
        raise ValueError(f"names no staging folder: {name!r}")
    return journal


def recover(out_dir: Path) -> str | None:
    """Finish or undo a publication that a crash interrupted; say what was done.

    The journal names the staging folder. If the new descriptor is in place, the rest is
    put in place too (roll forward); otherwise the previous data/ is put back (roll back).
    A journal that cannot be read or carried out is removed, with the reason: it must never
    block every later build.
    """
    journal_path = out_dir / JOURNAL_NAME
    if not os.path.lexists(journal_path):
        return None
    if journal_path.is_dir() and not journal_path.is_symlink():
        raise NotOwned(f"{journal_path}: a folder where the publication journal goes; remove it")
    try:
        journal = read_journal(journal_path, {"descriptor_sha256", "duckdb"})
    except (OSError, ValueError) as error:
        remove_journal(journal_path)
        return f"removed an unreadable publication journal ({type(error).__name__}: {error})"
    staging = out_dir / journal["staging"]
    if not owned(staging, STAGING_KIND):
        remove_journal(journal_path)
        return f"removed a publication journal naming no staging folder of newspack's: {staging}"
    try:
        outcome = _carry_out(out_dir, journal, staging)
    except (OSError, ValueError, KeyError, TypeError) as error:
        outcome = f"could not finish or undo an interrupted publication ({error}); left as it is"
        parked, data = staging / "previous-data", out_dir / DATA_DIRNAME
        if parked.is_dir() and not os.path.lexists(data):
            parked.rename(data)  # never delete the only copy of the previous data/
    remove_journal(journal_path)
    remove_owned(staging, STAGING_KIND)
    return outcome


def remove_journal(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()


def _journal_duckdb(out_dir: Path, recorded: str) -> Path:
    """The DuckDB path a journal records: relative to the output folder when inside it, so
    that a folder moved after a crash recovers into itself."""
    path = Path(recorded)
    return path if path.is_absolute() else out_dir / path


def _carry_out(out_dir: Path, journal: dict, staging: Path) -> str:
    new_descriptor = staging / "new.json"
    target_descriptor = out_dir / DESCRIPTOR_NAME
    data, parked = out_dir / DATA_DIRNAME, staging / "previous-data"
    if target_descriptor.is_file() and _sha256(target_descriptor) == journal["descriptor_sha256"]:
        staged_duckdb = staging / DUCKDB_NAME
        outcome = "finished an interrupted publication"
        if staged_duckdb.exists():
            target = _journal_duckdb(out_dir, journal["duckdb"])
            try:
                check_duckdb_target(target)
                os.replace(staged_duckdb, target)
            except (OSError, NotOwned) as error:
                outcome += f", except the DuckDB file, left as it was ({error})"
        return outcome
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
    elif journal.get("had_data") is False and data.is_dir() and _data_matches(new_descriptor, data):
        data.rename(staging / "discarded-data")  # a first publication: there was no data/
    return "rolled back an interrupted publication"


def write_table_csv(corpus: CorpusTables, table: str, path: Path) -> None:
    """A table's CSV in primary-key order, by DuckDB (corpus.write_csv), or where DuckDB
    cannot give the same bytes, a batch of rows at a time by tables/frames.py write_csv:
    either way the bytes of writing the whole table at once with pandas."""
    if corpus.write_csv(table, path):
        return
    for number, frame in enumerate(corpus.batches(table)):
        write_csv(frame, path, header=number == 0)


def _write_csvs_and_duckdb(corpus: CorpusTables, data_dir: Path, duckdb_path: Path) -> None:
    """The CSVs, and the DuckDB file loaded in a second thread beside them: DuckDB works
    outside Python's lock, so the two overlap."""
    with ThreadPoolExecutor(1) as loader:
        loading = loader.submit(write_duckdb, corpus, duckdb_path)
        for table in tables_in_dependency_order():
            write_table_csv(corpus, table, data_dir / f"{table}.csv")
        loading.result()


def publish(
    corpus: CorpusTables, out_dir: Path, duckdb_path: Path | None = None
) -> dict[str, Path]:
    """Write the package into out_dir (data/, datapackage.json) and the DuckDB file.

    Everything is written into a staging folder first; then data/ is exchanged atomically,
    the descriptor and the DuckDB file replaced, each step recorded by a journal so that
    recover() can complete or undo a publication a crash interrupted. Call under build_lock.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    duckdb_path = (duckdb_path or out_dir / DIST_DIRNAME / DUCKDB_NAME).resolve()
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    mark(staging, STAGING_KIND)
    data_dir, new_descriptor = staging / DATA_DIRNAME, staging / "new.json"
    try:
        data_dir.mkdir()
        _write_csvs_and_duckdb(corpus, data_dir, staging / DUCKDB_NAME)
        package = descriptor(corpus.frame("dumps"), data_dir)
        new_descriptor.write_text(
            json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except BaseException:
        remove_owned(staging, STAGING_KIND)
        raise
    after_step("staged")
    try:  # what the build may replace is checked again now, before anything is replaced
        check_duckdb_place(duckdb_path, out_dir, None)
        check_duckdb_target(duckdb_path)
    except NotOwned:
        remove_owned(staging, STAGING_KIND)
        raise
    recorded = (
        duckdb_path.relative_to(out_dir) if duckdb_path.is_relative_to(out_dir) else duckdb_path
    )
    write_atomic(
        out_dir / JOURNAL_NAME,
        {
            "staging": staging.name,
            "descriptor_sha256": _sha256(new_descriptor),
            "duckdb": str(recorded),
            "had_data": os.path.lexists(out_dir / DATA_DIRNAME),
        },
    )
    _swap_dir(data_dir, out_dir / DATA_DIRNAME, staging / "previous-data")
    after_step("data")
    os.replace(new_descriptor, out_dir / DESCRIPTOR_NAME)
    after_step("descriptor")
    os.replace(staging / DUCKDB_NAME, duckdb_path)
    after_step("duckdb")
    (out_dir / JOURNAL_NAME).unlink()
    remove_owned(staging, STAGING_KIND)
    return {
        "data": out_dir / DATA_DIRNAME,
        "descriptor": out_dir / DESCRIPTOR_NAME,
        "duckdb": duckdb_path,
    }
