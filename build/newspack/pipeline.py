"""The build, start to end: read -> split -> parse -> analyse -> identify -> enrich ->
validate -> publish.

Stages 1-4 work on one dump at a time, independently of the others: they run in worker
processes on every core and their results are cached by the dump's content hash
(cache.py), so a build redoes only new or changed dumps. Results stay on disk, with a
summary of each in memory, and are read back one dump at a time, in crawl order, by the
corpus-level stages (assemble.py: identity, entities, figures, quotes), which makes the
output the same whatever the workers and the cache did, and memory hold the tables rather
than the corpus. The tables are then validated and only then published. A dump that
cannot be read is refused and reported, never fatal.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from newspack import dictionary, places
from newspack.analyse import Analyses, analyse_texts, source_texts
from newspack.assemble import DumpSummary, assemble, summarise
from newspack.cache import CACHE_DIRNAME, PLACES_INDEX_NAME, DumpCache, entry_key
from newspack.config import DATA_DIRNAME, DIST_DIRNAME, DUCKDB_NAME, DUMP_NAME_PATTERN
from newspack.ownership import (
    NotOwned,
    check_duckdb_place,
    check_duckdb_target,
    check_output,
    make_owned_dir,
    remove_owned,
)
from newspack.parse import ParsedDump, parse_dump
from newspack.publish import (
    JOURNAL_NAME,
    STAGING_KIND,
    STAGING_PREFIX,
    Tables,
    build_lock,
    publish,
    recover,
)
from newspack.read import (
    DumpError,
    UnreadDump,
    crawl_order_for,
    dump_id_for,
    file_identity,
    read_bytes,
    read_file,
)
from newspack.validate import validate_tables

Progress = Callable[[str], None]
DUMP_SUFFIX = ".txt"
MIN_DUMPS_PER_WORKER = 4
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
PARENT_CHECK_SECONDS = 2.0
SCRATCH_PREFIX = ".newspack-store-"  # a store for one --no-cache build, in the output folder
SCRATCH_KIND = "store"


@dataclass
class BuildReport:
    tables: Tables
    outputs: dict[str, Path]
    warnings: list[str] = field(default_factory=list)
    work: dict[str, int] = field(default_factory=dict)  # dumps, processed, from_cache, workers

    def row_counts(self) -> dict[str, int]:
        return {table: len(frame) for table, frame in self.tables.items()}

    def problems(self) -> list[str]:
        """Every bad input, by file and line: quarantined lines and refused files."""
        return list(self.tables["quarantine"]["problem"])

    def duplicates(self) -> list[str]:
        dumps = self.tables["dumps"]
        rows = dumps[dumps["dump_status"] == "duplicate"]
        return [
            f"{r.file}: same bytes as {r.duplicate_of}, not read again" for r in rows.itertuples()
        ]


def dump_order(path: Path) -> tuple:
    """Crawl order (the NNN of NNN_<hash>.txt); other names after, by name."""
    order = crawl_order_for(path)
    return (order is None, order or 0, path.name)


def find_dumps(dumps_dir: Path, follow_links: bool = False) -> tuple[list[Path], list[str]]:
    """Dump files in crawl order, and a warning for each entry that is left out or breaks
    the naming rule.

    Rule: every *.txt file is a dump. One named other than NNN_<hash>.txt is read all the
    same, with no crawl order (after the named ones) and a warning; other files are left
    out with a warning. Dumps are untrusted: a *.txt entry that is a symbolic link (unless
    follow_links, and then only to a file inside dumps_dir), a folder or another special
    file is left out with a warning.
    """
    if not dumps_dir.exists():
        raise FileNotFoundError(f"dumps folder not found: {dumps_dir}")
    if not dumps_dir.is_dir():
        raise FileNotFoundError(f"--dumps must name a folder of dumps, not a file: {dumps_dir}")
    paths, warnings = [], []
    for path in sorted(dumps_dir.iterdir()):
        if not path.name.endswith(DUMP_SUFFIX):
            if path.is_file() and not path.is_symlink():
                warnings.append(f"{printable(path.name)}: not a .txt dump, left out")
            continue
        if not _publishable_name(path.name):
            warnings.append(
                f"{printable(path.name)}: a name with control characters, bytes that are not "
                "UTF-8 or nothing before .txt cannot be published; rename it; left out"
            )
            continue
        if problem := _untrusted_entry(path, follow_links):
            warnings.append(f"{problem}; left out")
            continue
        paths.append(path)
        if not re.fullmatch(DUMP_NAME_PATTERN, path.stem):
            warnings.append(
                f"{path.name}: name does not follow NNN_<hash>.txt; read with no "
                "crawl order, after the numbered dumps"
            )
    return sorted(paths, key=dump_order), warnings


def _publishable_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the file name (surrogate escapes)
        return False
    return name != DUMP_SUFFIX and name.isprintable()


def printable(text: str) -> str:
    """A name as it can be shown on one line: control characters and undecodable bytes
    escaped ("\\n", "\\udcff")."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode()
        for c in text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )


def _untrusted_entry(path: Path, follow_links: bool) -> str | None:
    """Why a *.txt entry of the dumps folder is not read, or None for a dump to read."""
    try:
        if path.is_symlink():
            read_file_target = path.resolve(strict=True) if follow_links else None
            if read_file_target is None:
                return (
                    f"{path.name}: a symbolic link, not followed (--follow-links reads links "
                    "to files inside the dumps folder)"
                )
            if not read_file_target.is_relative_to(path.parent.resolve()):
                return f"{path.name}: a symbolic link to a file outside the dumps folder"
            path = read_file_target
    except (OSError, RuntimeError):
        return f"{path.name}: a broken symbolic link (missing target or a loop)"
    if not path.is_file():
        return f"{path.name}: not a regular file (a folder, pipe or device)"
    return None


def _unread(name: str, data: bytes, status: str, problem=None, line=None, duplicate_of=None):
    return UnreadDump(
        **file_identity(name, data),
        status=status,
        problem=problem,
        error_line=line,
        duplicate_of=duplicate_of,
    )


@dataclass
class DumpResult:
    """One dump after stages 1-4: parsed with its texts' analyses, or refused."""

    parsed: ParsedDump | None
    refused: UnreadDump | None
    analyses: Analyses


def process_dump(name: str, data: bytes, crawl_time: datetime | None) -> DumpResult:
    """Read, split, parse and analyse one dump (in a worker process or in this one)."""
    try:
        dump = read_bytes(data, name)
    except DumpError as error:
        return DumpResult(None, _unread(name, data, "refused", str(error), error.line), {})
    parsed = parse_dump(dump, crawl_time)
    return DumpResult(parsed, None, analyse_texts(source_texts(parsed)))


def _process_job(job: tuple[str, bytes, datetime | None]) -> DumpResult:
    return process_dump(*job)


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _exit_with_parent(parent_pid: int) -> None:
    """Worker set-up: end this worker when the build that started it dies (even by kill -9),
    so no orphan keeps a model's memory. Linux delivers SIGTERM on the parent's death; a
    watchdog thread covers other systems."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="newspack-parent-watch").start()


def _worker_count(jobs: int, pending: int) -> int:
    """Worker processes worth starting: each loads the model (a few seconds), so a worker
    is started only for MIN_DUMPS_PER_WORKER dumps or more; 1 means in this process."""
    return max(1, min(jobs, pending // MIN_DUMPS_PER_WORKER))


def _run_jobs(jobs: list[tuple], workers: int) -> Iterator[DumpResult]:
    """Results in the order of the jobs, whatever order the workers finish them in."""
    if workers <= 1:
        yield from map(_process_job, jobs)
        return
    # spawn: each worker starts clean (no threads or locks inherited from this process).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        yield from pool.map(_process_job, jobs, chunksize=1)


@dataclass
class Processed:
    """Every dump after stages 1-4, in crawl order, and how the work was done.

    A parsed dump's result is kept in the store (the cache, or a temporary one) and read
    back when needed, so the corpus is never held in memory; without a store (in-process
    uses such as tests) results are kept as they are.
    """

    entries: list[DumpResult | str] = field(default_factory=list)  # results or store keys
    summaries: list[DumpSummary] = field(default_factory=list)  # one for each entry
    store: DumpCache | None = None
    unread: list[UnreadDump] = field(default_factory=list)
    from_cache: int = 0
    processed: int = 0
    workers: int = 1
    warnings: list[str] = field(default_factory=list)
    # store key -> the dump file and crawl time of a result taken from the cache
    cached_from: dict[str, tuple[Path, datetime | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, parsed_dumps: list[ParsedDump]) -> Processed:
        """Dumps parsed in this process, analysed here."""
        results = [DumpResult(p, None, analyse_texts(source_texts(p))) for p in parsed_dumps]
        return cls(results, [summarise(result) for result in results])

    def load(self, entry: DumpResult | str) -> DumpResult:
        """An entry's result, read from the store when it is kept there; a cached result
        that can no longer be read (only its summary was read up front) is recomputed."""
        if not isinstance(entry, str):
            return entry
        try:
            return self.store.load(entry)
        except Exception as error:
            if entry not in self.cached_from:
                raise  # written by this build: losing it is not a cache miss
            path, crawl_time = self.cached_from.pop(entry)
            result = process_dump(path.name, read_file(path, follow_links=True), crawl_time)
            self.store.put(entry, result, _head(result))
            self.warnings.append(
                f"cache entry recomputed: {self.store.path_of(entry)}: "
                f"{type(error).__name__}: {error}"
            )
            self.processed, self.from_cache = self.processed + 1, self.from_cache - 1
            return result

    def results(self) -> Iterator[DumpResult]:
        """Each parsed dump's result, in crawl order, read from the store one at a time."""
        return map(self.load, self.entries)

    def parsed(self) -> list[ParsedDump]:
        return [result.parsed for result in self.results()]


class CachedHead(NamedTuple):
    """What a build needs of a dump's result before reading it: kept beside it in the cache."""

    refused: UnreadDump | None
    summary: DumpSummary | None  # for a parsed dump


def _head(result: DumpResult) -> CachedHead:
    return CachedHead(result.refused, summarise(result) if result.parsed else None)


def _cached_head(cache: DumpCache, key: str) -> CachedHead | None:
    """The head cached beside a result, or made from the result (and kept) when it has
    none that can be read."""
    if (head := cache.get_summary(key)) is not None:
        return head
    if (result := cache.get(key)) is None:
        return None
    cache.put_summary(key, head := _head(result))
    return head


def process_dumps(
    paths: list[Path],
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    cache: DumpCache | None = None,
) -> Processed:
    """Read, parse and analyse each dump, in parallel and from the cache where possible.

    A file with the same bytes as an earlier one is a duplicate and is not read again; the
    others are taken from the cache or processed by `jobs` worker processes (default: every
    core), and new results written to the cache. Results are merged in crawl order, so the
    output never depends on the workers.
    """
    crawl_times = crawl_times or {}
    found: dict[str, DumpResult | str | UnreadDump] = {}  # file name -> what became of it
    skipped: list[str] = []  # files that could not be read at all
    first_with_hash: dict[str, str] = {}
    keys: dict[str, str] = {}  # file name -> cache entry key
    summaries: dict[str, DumpSummary] = {}  # file name -> its parsed dump's summary
    pending: list[tuple[str, bytes, datetime | None]] = []
    cached_from: dict[str, tuple[Path, datetime | None]] = {}
    for path in paths:
        try:
            data = read_file(path, follow_links=True)  # links were vetted by find_dumps
        except (OSError, DumpError) as error:
            skipped.append(f"{path.name}: cannot be read ({_reason(error)}); left out")
            if progress:
                progress(path.name)
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in first_with_hash:
            found[path.name] = _unread(
                path.name, data, "duplicate", duplicate_of=first_with_hash[digest]
            )
            if progress:
                progress(path.name)
            continue
        first_with_hash[digest] = dump_id_for(path)
        crawl_time = crawl_times.get(dump_id_for(path))
        keys[path.name] = entry_key(digest, crawl_time)
        head = _cached_head(cache, keys[path.name]) if cache else None
        if head is not None:
            found[path.name] = head.refused or keys[path.name]
            cached_from[keys[path.name]] = (path, crawl_time)
            if head.summary:
                summaries[path.name] = head.summary
            if progress:
                progress(path.name)
        else:
            pending.append((path.name, data, crawl_time))
    workers = _worker_count(jobs or default_jobs(), len(pending))
    done = Processed(store=cache, workers=workers, cached_from=cached_from)
    for (name, _, _), result in zip(pending, _run_jobs(pending, done.workers), strict=True):
        head = _head(result)
        if cache:
            cache.put(keys[name], result, head)
        found[name] = result.refused or (keys[name] if cache else result)
        if head.summary:
            summaries[name] = head.summary
        if progress:
            progress(name)
    done.processed, done.from_cache = len(pending), len(keys) - len(pending)
    done.warnings = skipped + (
        [f"cache entry recomputed: {entry}" for entry in cache.unreadable] if cache else []
    )
    for path in paths:
        if path.name not in found:
            continue  # unreadable: reported in the warnings
        entry = found[path.name]
        if isinstance(entry, UnreadDump):
            done.unread.append(entry)
        else:
            done.entries.append(entry)
            done.summaries.append(summaries[path.name])
    return done


def build_tables(done: Processed) -> Tables:
    """Identify articles and versions, find entities, figures and quotes, and validate the
    tables, streaming the processed dumps (assemble.py)."""
    tables = assemble(done.entries, done.summaries, done.load, done.unread)
    validate_tables(tables)
    return tables


def run(
    dumps_dir: Path,
    out_dir: Path,
    duckdb_path: Path | None = None,
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    follow_links: bool = False,
) -> BuildReport:
    """Build and publish the package under the output folder's lock.

    Dumps are processed by `jobs` worker processes (default: every core) and taken from the
    cache in cache_dir (default: <out_dir>/.newspack-cache) when they have not changed.
    Raises ValidationFailed before publishing anything, BuildLocked when another build holds
    the lock, NotOwned (before writing anything) when an output or cache path holds files
    newspack did not create, FileNotFoundError for a missing dumps folder and ValueError
    for a crawl time given for no dump.
    """
    paths, warnings = find_dumps(dumps_dir, follow_links)
    _check_crawl_times(crawl_times or {}, paths)
    out_dir = out_dir.absolute()
    duckdb_path = (duckdb_path or out_dir / DIST_DIRNAME / DUCKDB_NAME).absolute()
    cache_root = (cache_dir or out_dir / CACHE_DIRNAME).absolute()
    check_separate(out_dir, cache_root, use_cache)
    check_duckdb_place(duckdb_path, out_dir, cache_root if use_cache else None)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotOwned(f"{out_dir}: a file, not a folder; --out must name a folder")
    if not (out_dir / JOURNAL_NAME).exists():  # refuse before writing even the lock
        check_output(out_dir)
        check_duckdb_target(duckdb_path)
    with build_lock(out_dir):
        if recovered := recover(out_dir):
            warnings.append(f"{out_dir}: {recovered}")
        remove_stale_folders(out_dir)
        check_output(out_dir)
        check_duckdb_target(duckdb_path)
        with _store(out_dir, cache_root, use_cache) as cache:
            cache.remove_stale()
            places.keep_index_in(cache.folder / PLACES_INDEX_NAME if use_cache else None)
            done = process_dumps(paths, crawl_times, progress, jobs, cache)
            tables = build_tables(done)
        outputs = publish(tables, out_dir, duckdb_path)
        if written := dictionary.write(tables, out_dir):
            outputs["dictionary"] = written
        else:
            warnings.append(
                f"{out_dir / dictionary.DICTIONARY_PATH}: not written by newspack; left as it is"
            )
    stats = {"dumps": len(paths), "processed": done.processed, "from_cache": done.from_cache}
    warnings += done.warnings + implausible_times(tables)
    return BuildReport(tables, outputs, warnings, {**stats, "workers": done.workers})


def implausible_times(tables: Tables) -> list[str]:
    """A message, by file and line, for every update time kept raw because it cannot be true."""
    files = tables["dumps"].set_index("dump_id")["file"]
    versions = tables["article_versions"]
    return [
        f"{files[v.dump_id]}: line {v.updated_line}: implausible update time "
        f"{v.updated_raw!r}, kept in updated_raw only (updated_kind = implausible)"
        for v in versions[versions["updated_kind"] == "implausible"].itertuples()
    ]


def _check_crawl_times(crawl_times: dict[str, datetime], paths: list[Path]) -> None:
    known = {dump_id_for(path) for path in paths}
    if unknown := sorted(set(crawl_times) - known):
        raise ValueError(
            f"--crawl-time names no dump of the folder: {', '.join(unknown)} "
            f"(dumps: {', '.join(sorted(known)) or 'none'})"
        )


def check_separate(out_dir: Path, cache_root: Path, use_cache: bool) -> None:
    """The cache must not be, or hold, the output folder (the build removes what it owns
    there) nor sit inside the published data/."""
    if not use_cache:
        return
    cache_root, out_resolved = cache_root.resolve(), out_dir.resolve()
    if out_resolved.is_relative_to(cache_root) or cache_root.is_relative_to(
        out_resolved / DATA_DIRNAME
    ):
        raise NotOwned(
            f"--cache-dir {cache_root} overlaps the output folder {out_resolved}: give the "
            "cache a folder of its own"
        )


@contextmanager
def _store(out_dir: Path, cache_root: Path, use_cache: bool) -> Iterator[DumpCache]:
    """The cache, or without it a scratch store for this build only (results still go to
    disk, so that memory does not grow with the corpus), removed when the build ends."""
    if use_cache:
        yield DumpCache(cache_root)
        return
    scratch = make_owned_dir(out_dir / f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}", SCRATCH_KIND)
    try:
        yield DumpCache(scratch / "cache")
    finally:
        remove_owned(scratch, SCRATCH_KIND)


def remove_stale_folders(out_dir: Path) -> None:
    """Remove staging and scratch folders that a killed build left behind. Called under the
    lock, after recovery: no other build is using them."""
    for folder in out_dir.glob(f"{SCRATCH_PREFIX}*"):
        remove_owned(folder, SCRATCH_KIND)
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        remove_owned(folder, STAGING_KIND)
