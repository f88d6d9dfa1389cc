"""Stages 1-4 (and 6) on this machine: the local executor, one worker process per core.

Each worker is started clean (spawn), set up once (worker.set_up_worker: the model and
quantulum3) and ends when the build that started it dies, even by kill -9, so that no
orphan keeps a model's memory. Results come back in the order of the jobs whatever order
the workers finish them in; with one worker, jobs run in this process. Jobs are handed to
the workers a window at a time (JOBS_IN_FLIGHT_PER_WORKER each), their bytes loaded as they
go, so the build never holds the whole corpus's bytes. The corpus-level stages hand it
their articles to enrich the same way (map_ordered), on workers that load no model.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from newspack.execution.worker import (
    CachedHead,
    DumpJob,
    DumpResult,
    ResultSink,
    run_job_or_quarantine,
    set_up_worker,
)

MIN_DUMPS_PER_WORKER = 4
# Jobs handed to each worker ahead of its results: enough to keep it busy, few enough that
# the build holds only a few dumps' bytes per worker (the local and the cluster executor).
JOBS_IN_FLIGHT_PER_WORKER = 4
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
PARENT_CHECK_SECONDS = 2.0


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def exit_with_parent(parent_pid: int) -> None:
    """End this worker when the build that started it dies. Linux delivers SIGTERM on the
    parent's death; a watchdog thread covers other systems."""
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


def _start_worker(parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    set_up_worker()


def worker_count(jobs: int, pending: int) -> int:
    """Worker processes worth starting: each loads the model (a few seconds), so a worker
    is started only for MIN_DUMPS_PER_WORKER dumps or more; 1 means in this process."""
    return max(1, min(jobs, pending // MIN_DUMPS_PER_WORKER))


class LocalExecutor:
    """Runs dump jobs in this process or in a pool of worker processes on this machine."""

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or default_jobs()
        self.workers = 1

    def run(
        self, jobs: list[DumpJob], sink: ResultSink | None
    ) -> Iterator[tuple[DumpJob, CachedHead, DumpResult | None]]:
        """Each job with its head (and its result when there is no store), in job order."""
        self.workers = worker_count(self.jobs, len(jobs))
        task = partial(run_job_or_quarantine, sink=sink)
        if self.workers <= 1:
            for job in jobs:
                yield job, *task(job.loaded())
            return
        # spawn: each worker starts clean (no threads or locks inherited from this process).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
        ) as pool:
            waiting, in_flight = iter(jobs), deque()
            for job in waiting:
                in_flight.append((job, pool.submit(task, job.loaded())))
                if len(in_flight) == JOBS_IN_FLIGHT_PER_WORKER * self.workers:
                    yield self._first(in_flight)
            while in_flight:
                yield self._first(in_flight)

    def map_ordered(self, func: Callable, items: Iterable, workers: int) -> Iterator:
        """func of each item on `workers` fresh worker processes (no model: func sets up
        what it needs), results in the order of items; items are drawn a window ahead of
        the results, so that only a few are in flight (the corpus-level stages' articles)."""
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
        ) as pool:
            in_flight: deque = deque()
            for item in items:
                in_flight.append(pool.submit(func, item))
                if len(in_flight) >= JOBS_IN_FLIGHT_PER_WORKER * workers:
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()

    @staticmethod
    def _first(in_flight: deque) -> tuple[DumpJob, CachedHead, DumpResult | None]:
        job, future = in_flight.popleft()
        return job, *future.result()
