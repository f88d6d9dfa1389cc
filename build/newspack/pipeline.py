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

import hashlib
import multiprocessing
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from newspack import places
from newspack.analyse import Analyses, analyse_texts, source_texts
from newspack.assemble import DumpSummary, assemble, summarise
from newspack.cache import CACHE_DIRNAME, PLACES_INDEX_NAME, DumpCache, entry_key
from newspack.config import DUMP_NAME_PATTERN
from newspack.parse import ParsedDump, parse_dump
from newspack.publish import Tables, build_lock, publish, recover
from newspack.read import (
    DumpError,
    UnreadDump,
    crawl_order_for,
    dump_id_for,
    file_identity,
    read_bytes,
)
from newspack.validate import validate_tables

Progress = Callable[[str], None]
DUMP_SUFFIX = ".txt"
MIN_DUMPS_PER_WORKER = 4


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


def find_dumps(dumps_dir: Path) -> tuple[list[Path], list[str]]:
    """Dump files in crawl order, and a warning for each file that breaks the naming rule.

    Rule: every *.txt file is a dump. One named other than NNN_<hash>.txt is read all the
    same, with no crawl order (after the named ones) and a warning; other files are left
    out with a warning.
    """
    if not dumps_dir.is_dir():
        raise FileNotFoundError(f"dumps folder not found: {dumps_dir}")
    paths, warnings = [], []
    for path in sorted(p for p in dumps_dir.iterdir() if p.is_file()):
        if path.suffix != DUMP_SUFFIX:
            warnings.append(f"{path.name}: not a .txt dump, left out")
        elif not re.fullmatch(DUMP_NAME_PATTERN, path.stem):
            paths.append(path)
            warnings.append(
                f"{path.name}: name does not follow NNN_<hash>.txt; read with no "
                "crawl order, after the numbered dumps"
            )
        else:
            paths.append(path)
    return sorted(paths, key=dump_order), warnings


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


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


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
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
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
            result = process_dump(path.name, path.read_bytes(), crawl_time)
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
    first_with_hash: dict[str, str] = {}
    keys: dict[str, str] = {}  # file name -> cache entry key
    summaries: dict[str, DumpSummary] = {}  # file name -> its parsed dump's summary
    pending: list[tuple[str, bytes, datetime | None]] = []
    cached_from: dict[str, tuple[Path, datetime | None]] = {}
    for path in paths:
        data = path.read_bytes()
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
    done.warnings = (
        [f"cache entry recomputed: {entry}" for entry in cache.unreadable] if cache else []
    )
    for path in paths:
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
) -> BuildReport:
    """Build and publish the package under the output folder's lock.

    Dumps are processed by `jobs` worker processes (default: every core) and taken from the
    cache in cache_dir (default: <out_dir>/.newspack-cache) when they have not changed.
    Raises ValidationFailed before publishing anything, BuildLocked when another build holds
    the lock.
    """
    paths, warnings = find_dumps(dumps_dir)
    with build_lock(out_dir):
        if recovered := recover(out_dir):
            warnings.append(f"{out_dir}: {recovered}")
        with tempfile.TemporaryDirectory(prefix="newspack-store-") as scratch:
            # Without the cache, results still go to disk (a store for this build only),
            # so that memory does not grow with the corpus.
            store = (cache_dir or out_dir / CACHE_DIRNAME) if use_cache else Path(scratch)
            cache = DumpCache(store)
            cache.remove_stale()
            places.keep_index_in(cache.folder / PLACES_INDEX_NAME if use_cache else None)
            done = process_dumps(paths, crawl_times, progress, jobs, cache)
            tables = build_tables(done)
        outputs = publish(tables, out_dir, duckdb_path)
    stats = {"dumps": len(paths), "processed": done.processed, "from_cache": done.from_cache}
    return BuildReport(
        tables, outputs, warnings + done.warnings, {**stats, "workers": done.workers}
    )
