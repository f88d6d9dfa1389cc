"""Parallel and incremental builds: the output never depends on the workers or the cache."""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest

from newspack import pipeline
from newspack.config import OWNER_MARKER_NAME, PACKAGE_DIR, REPO_DUMPS_DIR
from newspack.dev.bench import make_corpus
from newspack.execution import cache
from newspack.execution.fingerprint import code_closure, fingerprint_of
from newspack.execution.local import JOBS_IN_FLIGHT_PER_WORKER, MIN_DUMPS_PER_WORKER, worker_count
from newspack.ingest.timing import parse_iso
from newspack.nlp.analyse import analyse_texts, source_texts
from newspack.package.schema import table_names

REAL = sorted(REPO_DUMPS_DIR.glob("*.txt"))


def _same_data(a: Path, b: Path) -> list[str]:
    """Tables whose CSV differs between two published packages."""
    return [
        t
        for t in table_names()
        if not filecmp.cmp(a / "data" / f"{t}.csv", b / "data" / f"{t}.csv", shallow=False)
    ]


def test_the_model_reads_a_text_the_same_in_any_batch():
    """What makes per-dump workers and the cache exact: a text's analysis does not depend
    on the texts it is batched with."""
    done = pipeline.process_dumps(REAL, jobs=1)
    texts = [t for parsed in done.parsed() for t in source_texts(parsed)]
    together = analyse_texts(texts)
    alone = {}
    for text in dict.fromkeys(texts):
        alone.update(analyse_texts([text]))
    backwards = analyse_texts(reversed(texts))
    assert together == alone == backwards
    assert any(a.spans for a in together.values()) and any(a.figures for a in together.values())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    # Enough dumps for 2 workers, and more than the jobs they are handed at first (a window
    # of JOBS_IN_FLIGHT_PER_WORKER each), so that the window is topped up as results come.
    dumps = 2 * max(MIN_DUMPS_PER_WORKER, JOBS_IN_FLIGHT_PER_WORKER) + 4
    make_corpus(folder, dumps, per_dump=1)
    return folder


def test_two_worker_processes_publish_what_one_process_does(corpus, tmp_path):
    one = pipeline.run(corpus, tmp_path / "one", jobs=1, use_cache=False)
    two = pipeline.run(corpus, tmp_path / "two", jobs=2, use_cache=False)
    assert one.work["workers"] == 1 and two.work["workers"] == 2
    assert two.work["processed"] == len(list(corpus.iterdir()))
    assert _same_data(tmp_path / "one", tmp_path / "two") == []
    assert (tmp_path / "one/datapackage.json").read_bytes() == (
        tmp_path / "two/datapackage.json"
    ).read_bytes()


def test_few_dumps_are_processed_here_not_in_workers():
    assert worker_count(2, MIN_DUMPS_PER_WORKER - 1) == 1
    assert worker_count(2, 2 * MIN_DUMPS_PER_WORKER) == 2
    assert worker_count(2, 100 * MIN_DUMPS_PER_WORKER) == 2


@pytest.fixture()
def dumps(tmp_path) -> Path:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for path in REAL:
        shutil.copy(path, folder)
    return folder


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> Path:
    """The output folder (package and cache) of one cold build of the real dumps."""
    folder = tmp_path_factory.mktemp("first-build")
    pipeline.run(REPO_DUMPS_DIR, folder / "out")
    return folder / "out"


@pytest.fixture()
def built(dumps, tmp_path, first_build) -> None:
    """tmp_path/out as a build of `dumps` leaves it (a copy of first_build: the cache is
    keyed by the dumps' bytes, not their folder), for the tests of what the next build does."""
    shutil.copytree(first_build, tmp_path / "out", symlinks=True)


def test_a_rebuild_takes_every_dump_from_the_cache_and_publishes_the_same(dumps, tmp_path):
    first = pipeline.run(dumps, tmp_path / "out")
    assert (first.work["processed"], first.work["from_cache"]) == (2, 0)
    shutil.copytree(tmp_path / "out/data", tmp_path / "first/data")
    again = pipeline.run(dumps, tmp_path / "out")
    assert (again.work["processed"], again.work["from_cache"]) == (0, 2)
    assert _same_data(tmp_path / "first", tmp_path / "out") == []


@pytest.mark.usefixtures("built")
def test_an_added_dump_is_the_only_one_processed(dumps, tmp_path):
    extra = make_corpus(tmp_path / "extra", 6)[0]
    shutil.copy(extra, dumps / "003_0123abcd.txt")
    report = pipeline.run(dumps, tmp_path / "out")
    assert (report.work["processed"], report.work["from_cache"]) == (1, 2)
    assert len(report.tables["dumps"]) == 3


@pytest.mark.usefixtures("built")
def test_a_crawl_time_override_reprocesses_only_that_dump(dumps, tmp_path):
    override = {REAL[0].stem: parse_iso("2025-09-10T08:00:00Z")}
    report = pipeline.run(dumps, tmp_path / "out", crawl_times=override)
    assert (report.work["processed"], report.work["from_cache"]) == (1, 1)


@pytest.mark.usefixtures("built")
def test_a_new_parser_version_starts_a_new_cache(dumps, tmp_path, monkeypatch):
    old = tmp_path / "out" / cache.CACHE_DIRNAME / cache.build_fingerprint()
    names = {p.name for p in old.iterdir()} - {cache.PLACES_INDEX_NAME, OWNER_MARKER_NAME}
    keys = {n.removesuffix(".summary.pickle") for n in names if n.endswith(".summary.pickle")}
    assert len(keys) == 2  # each dump's result, with its summary beside it
    assert names == {f"{key}{part}.pickle" for key in keys for part in ("", ".summary")}
    monkeypatch.setattr(cache, "build_fingerprint", lambda: "new-parser-version")
    report = pipeline.run(dumps, tmp_path / "out")
    assert (report.work["processed"], report.work["from_cache"]) == (2, 0)
    assert not old.exists()  # stale results are removed


def test_the_fingerprint_follows_the_per_dump_stages_and_nothing_else(tmp_path):
    """An edit to what stages 1-4 run or read starts a new cache; a release, a benchmark,
    the CLI or a corpus-level stage keeps it (those never change a cached result)."""
    package = tmp_path / "newspack"
    shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))

    def fingerprint() -> str:
        return fingerprint_of(package, package / "rules")

    before = fingerprint()
    assert fingerprint() == before  # stable
    per_dump = ["ingest/parse.py", "nlp/figures.py", "execution/worker.py", "rules/titles.yaml"]
    elsewhere = ["releases/release.py", "dev/bench.py", "cli.py", "tables/assemble.py"]
    for name in per_dump + elsewhere:
        changed = package / name
        original = changed.read_bytes()
        changed.write_bytes(original + b"\n# changed\n")
        assert (fingerprint() != before) == (name in per_dump), name
        changed.write_bytes(original)
    assert fingerprint() == before


def test_the_per_dump_code_is_found_by_its_imports():
    files = {p.relative_to(PACKAGE_DIR).as_posix() for p in code_closure()}
    assert {"execution/worker.py", "ingest/parse.py", "nlp/analyse.py", "nlp/spans.py"} <= files
    assert not files & {"pipeline.py", "cli.py", "tables/assemble.py", "releases/release.py"}


@pytest.mark.parametrize("part", ["result", "summary"])
@pytest.mark.usefixtures("built")
def test_an_unreadable_cache_entry_is_recomputed_and_reported(dumps, tmp_path, part):
    """A result that cannot be read is found only when pass 2 reads it (its summary was
    read up front): it is recomputed then; a summary that cannot be read is made again from
    its result."""
    shutil.copytree(tmp_path / "out/data", tmp_path / "first/data")
    folder = tmp_path / "out" / cache.CACHE_DIRNAME / cache.build_fingerprint()
    summaries = sorted(folder.glob("*.summary.pickle"))
    entry = (
        summaries[0] if part == "summary" else folder / summaries[0].name.replace(".summary", "")
    )
    entry.write_bytes(b"not a pickle")
    report = pipeline.run(dumps, tmp_path / "out")
    expected_work = (1, 1) if part == "result" else (0, 2)
    assert (report.work["processed"], report.work["from_cache"]) == expected_work
    assert any(entry.name in w and "recomputed" in w for w in report.warnings)
    assert _same_data(tmp_path / "first", tmp_path / "out") == []
    assert pipeline.run(dumps, tmp_path / "out").warnings == []  # the entry was rewritten


@pytest.mark.usefixtures("built")
def test_an_unreadable_cache_entry_of_a_changed_dump_stops_the_build_naming_both(dumps, tmp_path):
    """A cached result that cannot be read is recomputed from its file; when the file has
    changed since the build planned it, the build stops with a message and the published
    package stays as it was."""
    shutil.copytree(tmp_path / "out/data", tmp_path / "first/data")
    folder = tmp_path / "out" / cache.CACHE_DIRNAME / cache.build_fingerprint()
    for result in set(folder.glob("*.pickle")) - set(folder.glob("*.summary.pickle")):
        result.write_bytes(b"not a pickle")
    planned = sorted(dumps.iterdir())

    def edit_every_dump_once_planned(name: str) -> None:
        if name == planned[-1].name:
            for path in planned:
                path.write_text(path.read_text(encoding="utf-8") + "\nA late line.\n")

    with pytest.raises(ValueError) as stopped:
        pipeline.run(dumps, tmp_path / "out", progress=edit_every_dump_once_planned)
    message = str(stopped.value)
    assert message.startswith(f"{planned[0].name}: changed while the build was running")
    assert "cache entry" in message and "cannot be read" in message
    assert _same_data(tmp_path / "first", tmp_path / "out") == []


def test_a_build_without_the_cache_leaves_no_store_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    pipeline.run(REPO_DUMPS_DIR, tmp_path / "out", use_cache=False)
    assert not (tmp_path / "out" / cache.CACHE_DIRNAME).exists()
    assert list(scratch.iterdir()) == []


def test_a_dump_that_breaks_the_analysis_is_quarantined_not_fatal(dumps, tmp_path, monkeypatch):
    """A dump whose processing raises (a bug the input triggers) is published as refused,
    with the error, in the dumps and quarantine tables; the other dumps are published."""
    from newspack.execution import worker

    poison = REAL[1].stem
    real = worker.analyse_texts
    lines = [set(path.read_text(encoding="utf-8").splitlines()) for path in REAL[:2]]
    only_in_poison = max(lines[1] - lines[0], key=len).strip()  # a paragraph of that dump alone

    def analyse_texts(texts):
        texts = list(texts)
        if only_in_poison in texts:
            raise RuntimeError("the analysis met the poison")
        return real(texts)

    monkeypatch.setattr(worker, "analyse_texts", analyse_texts)
    report = pipeline.run(dumps, tmp_path / "out", jobs=1, use_cache=False)
    statuses = report.tables["dumps"].set_index("dump_id")
    assert statuses.loc[poison, "dump_status"] == "refused"
    problem = statuses.loc[poison, "problem"]
    assert "processing failed, dump quarantined (RuntimeError: the analysis met the poison)" in (
        problem
    )
    assert any(problem in p for p in report.problems())
    assert set(report.tables["article_versions"]["dump_id"]) == {REAL[0].stem}


def test_a_dump_changed_during_the_build_is_refused_not_read_as_planned(dumps, tmp_path):
    """Jobs wait without their bytes and load them when they start: a file edited or
    deleted after the build planned it is refused, named by the bytes planned on, and the
    other dumps are published."""
    first, edited = sorted(dumps.iterdir())
    deleted = dumps / "999_late.txt"  # a third dump, read after the other two
    deleted.write_text(edited.read_text(encoding="utf-8") + "\nAnother line.\n")
    planned = {
        path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in (edited, deleted)
    }

    def meddle_once_the_first_is_done(name: str) -> None:
        if name == first.name and deleted.exists():
            edited.write_text(edited.read_text(encoding="utf-8") + "\nA late line.\n")
            deleted.unlink()

    report = pipeline.run(
        dumps, tmp_path / "out", jobs=1, use_cache=False, progress=meddle_once_the_first_is_done
    )
    rows = report.tables["dumps"].set_index("dump_id")
    for path, problem in [
        (edited, "changed while the build was running; build again"),
        (deleted, "can no longer be read (No such file or directory)"),
    ]:
        row = rows.loc[path.stem]
        assert (row["dump_status"], row["sha256"]) == ("refused", planned[path.stem])
        assert row["problem"] == f"{path.name}: line 1: {problem}"  # no path of this machine
        assert any(row["problem"] in p for p in report.problems())
    assert set(report.tables["article_versions"]["dump_id"]) == {first.stem}
