"""Stages 1-4 on a Dask cluster (--executor dask): the same output as the local build,
through a killed worker and a poison dump, with results shared through a store by URL."""

from __future__ import annotations

import filecmp
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")  # the `cluster` extra

import cloudpickle  # noqa: E402 (comes with distributed)
from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from newspack import pipeline  # noqa: E402
from newspack.cli import app  # noqa: E402
from newspack.config import REPO_DUMPS_DIR  # noqa: E402
from newspack.dev.bench import make_corpus  # noqa: E402
from newspack.execution import cluster as cluster_module  # noqa: E402
from newspack.execution.cluster import DaskExecutor  # noqa: E402
from newspack.execution.fingerprint import code_closure  # noqa: E402
from newspack.package.schema import table_names  # noqa: E402
from newspack.tables import assemble  # noqa: E402

ARTICLES = 24  # four dumps: tasks are still in flight when a worker is killed after the first
POISON = "A SENTENCE THAT MAKES THE ANALYSIS RAISE"

# The test's worker plugin is sent to the workers by value (they cannot import this file).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class PoisonAnalysis(WorkerPlugin):
    """On every worker, the analysis raises on any text holding POISON (a deterministic
    failure, as a bug on one odd input would be)."""

    name = "test-poison-analysis"

    def setup(self, worker) -> None:
        from newspack.execution import worker as task

        real = task.analyse_texts

        def analyse_texts(texts):
            texts = list(texts)
            if any(POISON in text for text in texts):
                raise RuntimeError("the analysis met the poison sentence")
            return real(texts)

        task.analyse_texts = analyse_texts


def _different(a: Path, b: Path) -> list[str]:
    """Published files that differ between two output folders."""
    names = [f"data/{t}.csv" for t in table_names()] + ["datapackage.json"]
    return [n for n in names if not filecmp.cmp(a / n, b / n, shallow=False)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder, ARTICLES)
    return folder


@pytest.fixture(scope="module")
def local(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """The local build (the reference): its output folder and its cache folder."""
    root = tmp_path_factory.mktemp("local")
    report = pipeline.run(corpus, root / "out", jobs=2, cache_dir=root / "cache")
    assert report.work["processed"] == len(list(corpus.iterdir()))
    return root / "out", root / "cache"


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes that the tests can reach into (kill a worker)."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=":0",  # no fixed port: no clash with another cluster here
            silence_logs=logging.ERROR,
        ) as running,
        distributed.Client(running) as client,
    ):
        client.register_plugin(PoisonAnalysis())
        yield running, client


def test_a_cluster_build_publishes_what_the_local_build_does(corpus, local, tmp_path):
    """newspack starts its own LocalCluster of 2 worker processes; the client shows each
    dump done, as the local build does."""
    done = []
    report = pipeline.run(
        corpus,
        tmp_path / "out",
        use_cache=False,
        executor=DaskExecutor(jobs=2),
        progress=done.append,
    )
    assert report.work["workers"] == 2
    assert report.work["processed"] == len(list(corpus.iterdir()))
    assert sorted(done) == sorted(path.name for path in corpus.iterdir())
    assert _different(local[0], tmp_path / "out") == []


def test_articles_enriched_on_the_cluster_publish_what_the_local_build_does(
    corpus, local, cluster, tmp_path, monkeypatch
):
    """Every dump from the cache read and made into rows, and every article enriched, by
    Dask tasks on the cluster's workers (no model loaded for that): the same package."""
    monkeypatch.setattr(assemble, "MIN_ARTICLES_PER_WORKER", 1)
    executor = DaskExecutor(cluster[0].scheduler_address)
    tasks = []
    map_ordered = executor.map_ordered
    monkeypatch.setattr(
        executor, "map_ordered", lambda *args: (tasks.append(args[0]), map_ordered(*args))[1]
    )
    out = tmp_path / "out"
    report = pipeline.run(corpus, out, cache_dir=local[1], executor=executor)
    assert report.work["from_cache"] == report.work["dumps"]
    assert set(tasks) == {assemble.pieces_on_worker, assemble.enrich_on_worker}
    assert _different(local[0], out) == []


@pytest.fixture(scope="module")
def killed_build(corpus, cluster, tmp_path_factory):
    """A cluster build into a file:// store, one worker process killed (SIGKILL) as soon as
    the first dump is done, while the others are in flight."""
    _, client = cluster
    root = tmp_path_factory.mktemp("killed")
    before = client.run(os.getpid)
    victim = sorted(before.values())[0]
    killed = []

    def progress(name: str) -> None:
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(name)

    url = (root / "store").as_uri()
    executor = DaskExecutor(cluster[0].scheduler_address)
    report = pipeline.run(corpus, root / "out", cache_dir=url, progress=progress, executor=executor)
    return report, root, url, victim


def test_a_worker_killed_mid_build_loses_only_its_task(corpus, local, cluster, killed_build):
    report, root, _, victim = killed_build
    assert victim not in cluster[1].run(os.getpid).values()  # it was really killed
    assert report.work["processed"] == len(list(corpus.iterdir()))
    assert report.problems() == []
    assert _different(local[0], root / "out") == []


def test_cluster_and_local_builds_reuse_each_others_results(corpus, local, cluster, killed_build):
    """The store by URL: a local build takes every result the cluster wrote there; and a
    cluster build takes every result the local build cached, same keys, same output."""
    _, root, url, _ = killed_build
    dumps = len(list(corpus.iterdir()))
    assert len(list((root / "store").glob("*/*.summary.pickle"))) == dumps  # written by URL
    here = pipeline.run(corpus, root / "again", cache_dir=url)
    assert (here.work["processed"], here.work["from_cache"]) == (0, dumps)
    assert _different(local[0], root / "again") == []
    out, cache = local[0].parent / "from-local-cache", local[1]
    there = pipeline.run(
        corpus, out, cache_dir=cache, executor=DaskExecutor(cluster[0].scheduler_address)
    )
    assert (there.work["processed"], there.work["from_cache"]) == (0, dumps)
    assert _different(local[0], out) == []


def test_a_poison_dump_is_quarantined_and_the_rest_published(corpus, local, cluster, tmp_path):
    dumps = tmp_path / "dumps"
    shutil.copytree(corpus, dumps)
    first = sorted(corpus.iterdir())[0].read_text(encoding="utf-8")
    text = first.rstrip("\n") + f" {POISON}.\n"  # the last paragraph gets the sentence
    name = f"{len(list(corpus.iterdir())):04d}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    (dumps / f"{name}.txt").write_text(text, encoding="utf-8")
    executor = DaskExecutor(cluster[0].scheduler_address)
    report = pipeline.run(dumps, tmp_path / "out", use_cache=False, executor=executor)

    published = pd.read_csv(tmp_path / "out/data/dumps.csv", dtype=str)
    poisoned = published[published["file"] == f"{name}.txt"].iloc[0]
    assert poisoned["dump_status"] == "refused"
    assert "the analysis met the poison sentence" in poisoned["problem"]
    assert [p for p in report.problems() if name in p] == [poisoned["problem"]]
    reference = pd.read_csv(local[0] / "data/dumps.csv", dtype=str)
    rest = published[published["file"] != f"{name}.txt"].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, reference)
    others = [f"data/{t}.csv" for t in table_names() if t not in ("dumps", "quarantine")]
    assert [n for n in others if not filecmp.cmp(local[0] / n, tmp_path / "out" / n)] == []


def test_an_unreachable_scheduler_ends_the_build_with_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", "1s")
    nobody = "tcp://127.0.0.1:9"  # the discard port on this machine: no scheduler there
    args = ["build", "--dumps", str(REPO_DUMPS_DIR), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(
        app, [*args, "--executor", "dask", "--scheduler", nobody], env={"COLUMNS": "1000"}
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"cannot reach the Dask scheduler at {nobody}" in result.output
    assert not (tmp_path / "o" / "data").exists()  # nothing published


def test_dask_stays_out_of_a_local_build_and_of_the_cache_key():
    """A local build imports no Dask or fsspec (the extra is optional), and the cluster
    modules are not in the per-dump task's imports (editing them keeps the cache)."""
    files = {path.name for path in code_closure()}
    assert "worker.py" in files and not {"cluster.py", "urlstore.py"} & files
    probe = (
        "import sys, newspack.cli, newspack.pipeline, newspack.execution.store; "
        "print(sorted({'dask', 'distributed', 'fsspec'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
