"""Stages 1-4, the store: every dump's result, made once and read back one at a time.

DumpStore is the one interface between the per-dump stages and the corpus-level ones:
"process these dumps, give me their results". It reads each file once, sets duplicates
aside, takes what the cache already holds, has an executor (local.py, or cluster.py on a
Dask cluster) run the rest, and hands back the entries in crawl order with a summary of
each. A result is kept in the store (the cache: a folder, or an fsspec URL by urlstore.py;
or a scratch store for one build) and read back when the corpus-level stages need it, so
the corpus is never held in memory; a cached result that can no longer be read is
recomputed here. Without a store (tests, evaluation), results are kept as they are.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from newspack.execution.cache import DumpCache, entry_key
from newspack.execution.local import LocalExecutor
from newspack.execution.worker import (
    CachedHead,
    DumpJob,
    DumpResult,
    ResultSink,
    head_of,
    process_dump,
    unread_dump,
)
from newspack.ingest.keys import DumpSummary, summarise
from newspack.ingest.parse import ParsedDump
from newspack.ingest.read import (
    DumpError,
    UnreadDump,
    dump_id_for,
    read_file,
    unreadable_reason,
)
from newspack.nlp.analyse import analyse_texts, source_texts
from newspack.package.ownership import make_owned_dir, remove_owned

Progress = Callable[[str], None]
SCRATCH_PREFIX = ".newspack-store-"  # a store for one --no-cache build, in the output folder
SCRATCH_KIND = "store"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class Executor(Protocol):
    """Runs dump jobs somewhere (local.py, cluster.py): yields each job with its head, and
    its result when there is no sink, in any order; `workers` says how many ran them. Jobs
    come without their bytes: an executor hands a worker `job.loaded()`, when it does.
    map_ordered runs the corpus-level stages' per-article work (tables/assemble.py) on up to
    `workers` of its workers, results in the order of the items, a window at a time; `jobs`
    is how many workers it may use."""

    workers: int
    jobs: int

    def run(
        self, jobs: list[DumpJob], sink: ResultSink | None
    ) -> Iterator[tuple[DumpJob, CachedHead, DumpResult | None]]: ...

    def map_ordered(self, func: Callable, items: Iterable, workers: int) -> Iterator: ...


def is_url(location: Path | str) -> bool:
    """True for a store given as a URL (file://, s3://, ...) rather than a path."""
    return isinstance(location, str) and bool(_URL.match(location))


def local_path(location: Path | str) -> Path | None:
    """The folder a store location names on this machine: a path, or a file:// URL's path;
    None for a remote URL."""
    if not is_url(location):
        return Path(location).absolute()
    parts = urlsplit(location)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def open_cache(location: Path | str):
    """The cache at a path (DumpCache) or a URL (urlstore.UrlCache, needs fsspec)."""
    if not is_url(location):
        return DumpCache(Path(location))
    try:
        from newspack.execution.urlstore import UrlCache
    except ImportError as error:
        raise ValueError(
            f"{location}: a store URL needs fsspec: pip install 'newspack[cluster]'"
        ) from error
    try:
        return UrlCache(location)
    except (ImportError, ValueError) as error:  # fsspec: no such protocol or its package
        raise ValueError(f"{location}: cannot open this store URL ({error})") from error


@dataclass
class Processed:
    """Every dump after stages 1-4, in crawl order, and how the work was done."""

    entries: list[DumpResult | str] = field(default_factory=list)  # results or store keys
    summaries: Sequence[DumpSummary] = field(default_factory=list)  # one for each entry
    store: DumpStore | None = None
    unread: list[UnreadDump] = field(default_factory=list)
    from_cache: int = 0
    processed: int = 0
    workers: int = 1
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, parsed_dumps: list[ParsedDump]) -> Processed:
        """Dumps parsed in this process, analysed here."""
        results = [DumpResult(p, None, analyse_texts(source_texts(p))) for p in parsed_dumps]
        return cls(results, [summarise(result) for result in results])

    def load(self, entry: DumpResult | str) -> DumpResult:
        """An entry's result, read from the store when it is kept there."""
        return entry if not isinstance(entry, str) else self.store.load(entry, self)

    def results(self) -> Iterator[DumpResult]:
        """Each parsed dump's result, in crawl order, read from the store one at a time."""
        return map(self.load, self.entries)

    def parsed(self) -> list[ParsedDump]:
        return [result.parsed for result in self.results()]


class SummarySpool(Sequence[DumpSummary]):
    """Dump summaries kept in an anonymous temporary file, memory holding only where each
    one is: pass 1 of the corpus-level stages reads them once, and a million articles'
    summaries would take more than a gigabyte in memory. select() gives a spool of some of
    them, in another order, over the same file."""

    def __init__(self, file=None, where: list[tuple[int, int]] | None = None):
        self._file = file or tempfile.TemporaryFile()  # noqa: SIM115 (lives with the spool)
        self._where = where if where is not None else []  # (offset, size) of each summary

    def append(self, summary: DumpSummary) -> int:
        """Keep a summary; its index."""
        data = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)
        self._where.append((self._file.seek(0, 2), len(data)))
        self._file.write(data)
        return len(self._where) - 1

    def select(self, indices: list[int]) -> SummarySpool:
        return SummarySpool(self._file, [self._where[i] for i in indices])

    def __len__(self) -> int:
        return len(self._where)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        offset, size = self._where[index]
        self._file.seek(offset)
        return pickle.loads(self._file.read(size))


class DumpStore:
    """The per-dump results of a build, by entry key (cache.entry_key), in a DumpCache."""

    def __init__(self, cache=None):  # a DumpCache, a urlstore.UrlCache or None
        self.cache = cache
        self._cached_from: dict[str, DumpJob] = {}  # key -> the job its head was read for

    @classmethod
    @contextmanager
    def opened(cls, out_dir: Path, cache_root: Path | str, use_cache: bool) -> Iterator[DumpStore]:
        """The cache at a path or URL (its stale fingerprints removed), or without it a
        scratch store in the output folder for this build only (results still go to disk,
        so that memory does not grow with the corpus), removed when the build ends."""
        if use_cache:
            cache = open_cache(cache_root)
            cache.remove_stale()
            yield cls(cache)
            return
        scratch = make_owned_dir(out_dir / f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}", SCRATCH_KIND)
        try:
            yield cls(DumpCache(scratch / "cache"))
        finally:
            remove_owned(scratch, SCRATCH_KIND)

    def results_for(
        self,
        paths: list[Path],
        crawl_times: dict[str, datetime] | None = None,
        executor: Executor | None = None,
        progress: Progress | None = None,
    ) -> Processed:
        """Read, parse and analyse each dump, from the store where possible.

        A file with the same bytes as an earlier one is a duplicate and is not read again;
        the others are taken from the store or run by the executor (default: local, every
        core). Entries come back in the order of paths (crawl order), so the output never
        depends on the executor.
        """
        executor = executor or LocalExecutor()
        plan = _Plan(self, crawl_times or {}, progress)
        for path in paths:
            plan.add(path)
        for job, head, result in executor.run(plan.pending, self.cache):
            plan.finish(job, head, result)
        done = Processed(store=self, workers=executor.workers)
        done.processed, done.from_cache = len(plan.pending), len(plan.keys) - len(plan.pending)
        done.warnings = plan.skipped + [
            f"cache entry recomputed: {entry}"
            for entry in (self.cache.unreadable if self.cache else [])
        ]
        plan.collect(paths, done)
        return done

    def cached_head(self, job: DumpJob) -> CachedHead | None:
        """The head kept beside a job's cached result, or made from the result (and kept)
        when it has none that can be read; None when the store holds no such result."""
        if self.cache is None:
            return None
        head = self.cache.get_summary(job.key)
        if head is None and (result := self.cache.get(job.key)) is not None:
            self.cache.put_summary(job.key, head := head_of(result))
        if head is not None:
            self._cached_from[job.key] = job
        return head

    def load(self, key: str, done: Processed) -> DumpResult:
        """A result kept in the store; a cached one that can no longer be read (only its
        head was read up front) is recomputed from its file, with a warning in `done`. When
        that file has changed too, the build stops: the plan was made from the old bytes."""
        try:
            return self.cache.load(key)
        except Exception as error:
            if key not in self._cached_from:
                raise  # written by this build: losing it is not a cache miss
            job = self._cached_from.pop(key).loaded()
            entry = self.cache.path_of(key)
            if job.data is None:
                raise ValueError(
                    f"{job.name}: {job.problem}, and its cache entry {entry} cannot be read "
                    f"({type(error).__name__}: {error})"
                ) from error
            result = process_dump(job.name, job.data, job.crawl_time)
            self.cache.put(key, result, head_of(result))
            done.warnings.append(
                f"cache entry recomputed: {entry}: {type(error).__name__}: {error}"
            )
            done.processed, done.from_cache = done.processed + 1, done.from_cache - 1
            return result


class _Plan:
    """What becomes of each dump file of one results_for call."""

    def __init__(self, store: DumpStore, crawl_times: dict[str, datetime], progress):
        self.store, self.crawl_times, self.progress = store, crawl_times, progress
        self.found: dict[str, DumpResult | str | UnreadDump] = {}  # file name -> outcome
        self.spool = SummarySpool()  # the parsed dumps' summaries, in the order they came
        self.summaries: dict[str, int] = {}  # file name -> its summary's index in the spool
        self.keys: dict[str, str] = {}  # file name -> entry key
        self.first_with_hash: dict[str, str] = {}
        self.pending: list[DumpJob] = []
        self.skipped: list[str] = []  # files that could not be read at all

    def _done(self, name: str) -> None:
        if self.progress:
            self.progress(name)

    def add(self, path: Path) -> None:
        try:
            data = read_file(path, follow_links=True)  # links were vetted by find_dumps
        except (OSError, DumpError) as error:
            reason = unreadable_reason(error, path.name)
            self.skipped.append(f"{path.name}: cannot be read ({reason}); left out")
            return self._done(path.name)
        digest = hashlib.sha256(data).hexdigest()
        if digest in self.first_with_hash:
            first = self.first_with_hash[digest]
            self.found[path.name] = unread_dump(path.name, data, "duplicate", duplicate_of=first)
            return self._done(path.name)
        self.first_with_hash[digest] = dump_id_for(path)
        crawl_time = self.crawl_times.get(dump_id_for(path))
        key = self.keys[path.name] = entry_key(digest, crawl_time)
        job = DumpJob(path, digest, len(data), crawl_time, key)
        if (head := self.store.cached_head(job)) is None:
            self.pending.append(job)
            return None
        self._keep(path.name, head, key)
        return self._done(path.name)

    def _keep(self, name: str, head: CachedHead, entry: DumpResult | str) -> None:
        self.found[name] = head.refused or entry
        if head.summary:
            self.summaries[name] = self.spool.append(head.summary)

    def finish(self, job: DumpJob, head: CachedHead, result: DumpResult | None) -> None:
        self._keep(job.name, head, job.key if result is None else result)
        self._done(job.name)

    def collect(self, paths: list[Path], done: Processed) -> None:
        """Entries, their summaries and unread dumps in the order of paths."""
        summaries = []
        for path in paths:
            if path.name not in self.found:
                continue  # unreadable: reported in the warnings
            entry = self.found[path.name]
            if isinstance(entry, UnreadDump):
                done.unread.append(entry)
            else:
                done.entries.append(entry)
                summaries.append(self.summaries[path.name])
        done.summaries = self.spool.select(summaries)
