"""Stages 1-4 of one dump (read, split, parse, analyse): the task every executor runs.

A task is a DumpJob: a dump's file, checksum, crawl-time override and store key. A job
waits without the file's bytes; an executor loads them (DumpJob.loaded) only when it hands
the job to a worker, so a build holds the bytes of the dumps in flight, never the corpus's,
and a file that changed since the build planned it is refused, not read as other bytes
than planned. A task runs in this process, in a local worker process (local.py) or on a
cluster worker, and its result is the same wherever it runs. With a store (a DumpCache or
a UrlCache, each able to `put` from any process that reaches it), the task writes its
result there and returns only its head (what the build needs up front), so that results
never travel back through the process that plans the build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from newspack.ingest.keys import DumpSummary, summarise
from newspack.ingest.parse import ParsedDump, parse_dump
from newspack.ingest.read import (
    DumpError,
    UnreadDump,
    file_identity,
    identity_of,
    read_bytes,
    read_file,
    unreadable_reason,
)
from newspack.nlp import quantulum_tries
from newspack.nlp.analyse import Analyses, analyse_texts, source_texts
from newspack.nlp.model import load_model


@dataclass
class DumpResult:
    """One dump after stages 1-4: parsed with its texts' analyses, or refused."""

    parsed: ParsedDump | None
    refused: UnreadDump | None
    analyses: Analyses


class CachedHead(NamedTuple):
    """What a build needs of a dump's result before reading it: kept beside it in the store."""

    refused: UnreadDump | None
    summary: DumpSummary | None  # for a parsed dump


@dataclass(frozen=True)
class DumpJob:
    path: Path  # the dump file, as the planning process sees it
    sha256: str  # of the bytes the build planned on (the store key is made from it)
    size: int
    crawl_time: datetime | None
    key: str  # the store's entry key (cache.entry_key)
    data: bytes | None = None  # the bytes, once loaded
    problem: str | None = None  # why they could not be loaded

    @property
    def name(self) -> str:
        return self.path.name

    def loaded(self) -> DumpJob:
        """This job with its file's bytes, read now (in the process that plans the build:
        a cluster worker need not see its files). A file that can no longer be read, or
        whose bytes are not the ones planned on, becomes the job's problem."""
        try:
            data = read_file(self.path, follow_links=True)  # links were vetted by find_dumps
        except (OSError, DumpError) as error:
            return replace(
                self, problem=f"can no longer be read ({unreadable_reason(error, self.name)})"
            )
        if hashlib.sha256(data).hexdigest() != self.sha256:
            return replace(self, problem="changed while the build was running; build again")
        return replace(self, data=data)


def head_of(result: DumpResult) -> CachedHead:
    return CachedHead(result.refused, summarise(result) if result.parsed else None)


def unread_dump(name: str, data: bytes, status: str, problem=None, line=None, duplicate_of=None):
    """A dump that is published as a row of the dumps table only (refused or a duplicate)."""
    return UnreadDump(
        **file_identity(name, data),
        status=status,
        problem=problem,
        error_line=line,
        duplicate_of=duplicate_of,
    )


def process_dump(name: str, data: bytes, crawl_time: datetime | None) -> DumpResult:
    """Read, split, parse and analyse one dump."""
    try:
        dump = read_bytes(data, name)
    except DumpError as error:
        return DumpResult(None, unread_dump(name, data, "refused", str(error), error.line), {})
    parsed = parse_dump(dump, crawl_time)
    return DumpResult(parsed, None, analyse_texts(source_texts(parsed)))


def set_up_worker() -> None:
    """What a process needs once before its first task, never per task: the spaCy model
    and quantulum3 with its fast regexes (quantulum_tries.install)."""
    load_model()
    quantulum_tries.install()


class ResultSink(Protocol):
    """Where a worker writes results: the store's entries (picklable, sent to workers)."""

    def put(self, key: str, result: DumpResult, summary: CachedHead | None = None) -> None: ...


def quarantined(job: DumpJob, error: BaseException, where: str = "") -> CachedHead:
    """The head of a dump whose processing failed: refused, with the error as its problem
    (line 1, as for other whole-file refusals: the quarantine table's key needs a line).
    Never cached, so a fixed version of the code reads the dump again."""
    problem = (
        f"{job.name}: line 1: processing failed{where}, dump quarantined "
        f"({type(error).__name__}: {error})"
    )
    return _refused(job, problem)


def _refused(job: DumpJob, problem: str) -> CachedHead:
    """The head of a dump that was not processed, named by the bytes the build planned on."""
    identity = identity_of(job.name, job.sha256, job.size)
    return CachedHead(UnreadDump(**identity, status="refused", problem=problem, error_line=1), None)


def run_job_or_quarantine(
    job: DumpJob, sink: ResultSink | None
) -> tuple[CachedHead, DumpResult | None]:
    """run_job, with a dump that makes the analysis raise quarantined instead of stopping
    the build (the local executor's task; the cluster's tells failures apart itself)."""
    try:
        return run_job(job, sink)
    except Exception as error:  # any failure of one dump is that dump's, never the build's
        return quarantined(job, error), None


def run_job(job: DumpJob, sink: ResultSink | None) -> tuple[CachedHead, DumpResult | None]:
    """Process one dump. With a sink the result is written there (atomically) and only the
    head is returned; without one the result is returned too. A job whose bytes could not
    be loaded is refused with its problem (and, like a quarantined one, never cached)."""
    if job.problem is not None:
        return _refused(job, f"{job.name}: line 1: {job.problem}"), None
    if job.data is None:
        raise TypeError(f"{job.name}: the job was not loaded (executors hand out job.loaded())")
    result = process_dump(job.name, job.data, job.crawl_time)
    head = head_of(result)
    if sink is None:
        return head, result
    sink.put(job.key, result, head)
    return head, None
