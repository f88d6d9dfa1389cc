"""Stages 1-4 on a cluster: the per-dump jobs as Dask tasks (`newspack build --executor dask`),
and the corpus-level stages' per-article enrichment as tasks too (map_ordered).

Each dump is one task (worker.run_job). Each worker process sets itself up once, when it
joins, by a worker plugin (worker.set_up_worker: the spaCy model, quantulum3), never per
task; a worker that Dask restarts after a crash is set up again the same way. A task
writes its result to the store (a folder every worker shares, or an fsspec URL) and
returns only its head, so results never travel through the scheduler; the client reads
them back from the store for the corpus-level stages.

Faults. A worker killed mid-task loses only that task: the scheduler reruns it on another
worker (a result written twice is the same bytes, moved into place atomically). A task
that raises is not retried (the analysis is deterministic: it would raise again), and
one that kills a worker `distributed.scheduler.allowed-failures` times (Dask's default: 3)
is given up with KilledWorker; either way the dump is quarantined: published in the dumps
table as refused, with the error, and never cached, so a fixed version reads it again.
A worker that cannot see the store or runs other newspack code stops the build instead,
with a message: every dump would fail the same way.

Imported only for `--executor dask`: Dask is the optional `cluster` extra, and this module
stays outside worker.py's imports (the cache fingerprint follows those).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from newspack.execution.fingerprint import build_fingerprint
from newspack.execution.local import JOBS_IN_FLIGHT_PER_WORKER, default_jobs
from newspack.execution.worker import (
    CachedHead,
    DumpJob,
    DumpResult,
    ResultSink,
    quarantined,
    run_job,
    set_up_worker,
)

CONNECT_TIMEOUT = "10s"
# For the LocalCluster newspack starts (BENCHMARKS.md, "Overhead of the cluster path").
LOCAL_CLUSTER_CONFIG = {
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536 and one BLAS/OpenMP
    # thread: measured here, that makes each dump's analysis about 15% slower than in a plain
    # process. Workers inherit this process's environment instead, as the local executor's do.
    "distributed.nanny.pre-spawn-environ": {},
    # A worker's sampling profiler (every 10 ms) and event-loop tick (every 20 ms) take the
    # GIL from the task's thread: diagnostics for Dask's dashboard, which a build does not use.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
}


class ClusterError(RuntimeError):
    """The cluster cannot run this build (unreachable, or its workers cannot do the work)."""


class WrongWorker(RuntimeError):
    """Raised by a task on a worker that cannot do any dump right (not a poison dump)."""


class NewspackSetup(WorkerPlugin):
    """Loads what a worker process needs once, when it joins the cluster."""

    name = "newspack-setup"
    idempotent = True  # registering it again (a second build on the cluster) does nothing

    async def setup(self, worker) -> None:
        # Off the worker's event loop: the model takes seconds, heartbeats go on meanwhile.
        await asyncio.to_thread(set_up_worker)


def cluster_task(job: DumpJob, sink: ResultSink | None, fingerprint: str):
    """worker.run_job on a cluster worker, after checking it can do the work right."""
    if build_fingerprint() != fingerprint:
        raise WrongWorker(
            f"worker {socket.gethostname()} runs other newspack code or models (cache "
            f"fingerprint {build_fingerprint()}, the client's {fingerprint}): install the "
            "same version everywhere"
        )
    if sink is not None and not sink.reachable():
        raise WrongWorker(
            f"worker {socket.gethostname()} cannot reach the store {sink.folder}: it must be "
            "a folder every worker mounts at the same path, or a URL they all reach"
        )
    return run_job(job, sink)


class DaskExecutor:
    """Runs dump jobs on a Dask cluster: the one at `scheduler` (tcp://host:8786), or a
    LocalCluster of `jobs` worker processes started for the build."""

    def __init__(self, scheduler: str | None = None, jobs: int | None = None):
        self.scheduler = scheduler
        self.jobs = jobs or default_jobs()
        self.workers = 0

    @contextmanager
    def _client(self) -> Iterator[Client]:
        if self.scheduler is None:
            with (
                dask.config.set(LOCAL_CLUSTER_CONFIG),
                LocalCluster(
                    n_workers=self.jobs,
                    threads_per_worker=1,  # one model per process, one dump at a time
                    processes=True,
                    dashboard_address=":0",  # no fixed port: no clash with another cluster here
                    silence_logs=logging.ERROR,
                ) as cluster,
                Client(cluster) as client,
            ):
                yield client
            return
        try:
            client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.scheduler} ({error})"
            ) from error
        with client:
            yield client

    def run(
        self, jobs: list[DumpJob], sink: ResultSink | None
    ) -> Iterator[tuple[DumpJob, CachedHead, DumpResult | None]]:
        """Each job with its head (and its result when there is no sink), as tasks end."""
        if not jobs:
            return
        with self._client() as client:
            client.register_plugin(NewspackSetup())
            self.workers = len(client.scheduler_info()["workers"])
            if self.workers == 0:
                raise ClusterError(f"the Dask cluster at {self.scheduler} has no workers")
            yield from self._run_on(client, jobs, sink)

    def _run_on(self, client: Client, jobs: list[DumpJob], sink: ResultSink | None):
        fingerprint = build_fingerprint()
        waiting = iter(jobs)
        owner = {}  # future -> its job
        running = as_completed()

        def submit_next() -> None:
            if (job := next(waiting, None)) is not None:
                future = client.submit(
                    cluster_task,
                    job.loaded(),  # the bytes travel with the task: workers need not see them
                    sink,
                    fingerprint,
                    key=f"newspack-dump-{job.key}",
                    retries=0,
                )
                owner[future] = job
                running.add(future)

        # A window of tasks, topped up as they end: the scheduler holds a few dumps' bytes
        # per worker at a time, not the corpus's.
        for _ in range(JOBS_IN_FLIGHT_PER_WORKER * self.workers):
            submit_next()
        for future in running:
            job = owner.pop(future)
            submit_next()
            yield job, *self._outcome(future, job)
            future.release()

    def map_ordered(self, func: Callable, items: Iterable, workers: int) -> Iterator:
        """func of each item as a Dask task, results in the order of items, a window of
        tasks per worker at a time (the corpus-level stages' articles: their analyses travel
        with the task). A task that fails raises here: per-article work is never quarantined."""
        with self._client() as client:
            width = JOBS_IN_FLIGHT_PER_WORKER * max(
                workers, len(client.scheduler_info()["workers"])
            )
            in_flight: deque = deque()
            for item in items:
                in_flight.append(client.submit(func, item, pure=False))
                if len(in_flight) >= width:
                    yield self._result(in_flight.popleft())
            while in_flight:
                yield self._result(in_flight.popleft())

    @staticmethod
    def _result(future):
        try:
            return future.result()
        finally:
            future.release()

    @staticmethod
    def _outcome(future, job: DumpJob) -> tuple[CachedHead, DumpResult | None]:
        if future.status == "finished":
            return future.result()
        error = future.exception()
        if isinstance(error, WrongWorker):
            raise ClusterError(str(error))
        return quarantined(job, error, " on the cluster"), None
