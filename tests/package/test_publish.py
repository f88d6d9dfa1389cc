"""Publish stage: a failed, killed or concurrent build never damages the published package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from layouts import DUMPS
from newspack import pipeline
from newspack.package.ownership import owned
from newspack.package.publish import JOURNAL_NAME, BuildLocked, build_lock, recover
from newspack.package.validate import Problem, ValidationFailed
from newspack.tables.corpus import CORPUS_KIND, CORPUS_PREFIX

OLD_DUMP = "000_179fe664de7d926d.txt"


def _snapshot(out: Path) -> dict[str, bytes]:
    files = [out / "datapackage.json", out / "dist" / "newspack.duckdb"]
    files += sorted((out / "data").glob("*.csv"))
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def _version_count(out: Path) -> int:
    with duckdb.connect(str(out / "dist" / "newspack.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM article_versions").fetchone()[0]


@pytest.fixture(scope="module")
def first_published(tmp_path_factory) -> Path:
    """The output folder (package and cache) of one build of dump 000 only."""
    folder = tmp_path_factory.mktemp("published")
    old_dumps = folder / "old"
    old_dumps.mkdir()
    shutil.copy(DUMPS / OLD_DUMP, old_dumps)
    pipeline.run(old_dumps, folder / "out")
    return folder / "out"


@pytest.fixture
def published(tmp_path, first_published):
    """An output folder holding a package built from dump 000 only (a copy of one build: a
    build's output does not depend on where it is), and a folder of all dumps."""
    all_dumps, out = tmp_path / "all", tmp_path / "out"
    shutil.copytree(first_published, out, symlinks=True)
    shutil.copytree(DUMPS, all_dumps)
    return out, all_dumps, _snapshot(out)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from newspack import pipeline
    from newspack.package import publish

    step, dumps, out = sys.argv[1:]

    def kill_at(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    publish.after_step = kill_at
    pipeline.run(Path(dumps), Path(out))
""")


def _killed_build(step: str, dumps: Path, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLER, step, str(dumps), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == -9, done.stderr


def test_kill_before_the_swap_leaves_the_old_package_untouched(published):
    # The last moment before the swap: everything staged, nothing published yet.
    out, all_dumps, before = published
    _killed_build("staged", all_dumps, out)
    assert _snapshot(out) == before
    recover(out)
    assert _snapshot(out) == before and not (out / JOURNAL_NAME).exists()


def test_kill_inside_the_swap_is_rolled_back_to_the_old_package(published):
    out, all_dumps, before = published
    _killed_build("data", all_dumps, out)
    assert (out / JOURNAL_NAME).exists()
    assert recover(out) == "rolled back an interrupted publication"
    assert _snapshot(out) == before
    assert not list(out.glob(".newspack-staging-*"))


def test_kill_after_the_new_descriptor_is_rolled_forward(published):
    out, all_dumps, before = published
    _killed_build("descriptor", all_dumps, out)
    assert recover(out) == "finished an interrupted publication"
    assert _version_count(out) == 8  # the new package: both dumps
    pipeline.run(all_dumps, out)  # a clean build of the same inputs changes nothing
    assert _snapshot(out)["datapackage.json"] != before["datapackage.json"]


def test_the_next_build_recovers_and_says_so(published):
    out, all_dumps, _ = published
    _killed_build("data", all_dumps, out)
    assert (out / JOURNAL_NAME).exists()
    report = pipeline.run(all_dumps, out)
    assert any("rolled back an interrupted publication" in w for w in report.warnings)
    assert _version_count(out) == 8


CORPUS_KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from newspack import pipeline
    from newspack.tables import assemble

    dumps, out = sys.argv[1:]
    enrich, enriched = assemble.enrich_article, []

    def kill_at_the_second_article(*args):
        if enriched:  # in the middle of the corpus-level stages
            os.kill(os.getpid(), signal.SIGKILL)
        enriched.append(1)
        return enrich(*args)

    assemble.enrich_article = kill_at_the_second_article
    pipeline.run(Path(dumps), Path(out))
""")


def test_a_build_killed_in_the_corpus_stages_leaves_the_package_and_the_next_build_works(
    published, tmp_path
):
    out, all_dumps, before = published
    done = subprocess.run(
        [sys.executable, "-c", CORPUS_KILLER, str(all_dumps), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    assert _snapshot(out) == before
    left = list(out.glob(f"{CORPUS_PREFIX}*"))
    assert len(left) == 1 and owned(left[0], CORPUS_KIND)  # the killed build's scratch
    pipeline.run(all_dumps, out)
    assert not list(out.glob(f"{CORPUS_PREFIX}*"))  # removed: newspack made it
    pipeline.run(all_dumps, tmp_path / "fresh")
    assert _snapshot(out) != before
    fresh = _snapshot(tmp_path / "fresh")
    assert {k: v for k, v in _snapshot(out).items() if k.endswith((".csv", ".json"))} == {
        k: v for k, v in fresh.items() if k.endswith((".csv", ".json"))
    }


def test_failed_validation_publishes_nothing(published, monkeypatch):
    out, all_dumps, before = published

    def fail(corpus):
        raise ValidationFailed([Problem("articles", "-", "test rule", "broken on purpose")])

    monkeypatch.setattr(pipeline, "validate_corpus", fail)
    with pytest.raises(ValidationFailed, match="broken on purpose"):
        pipeline.run(all_dumps, out)
    assert _snapshot(out) == before
    assert not list(out.glob(".newspack-staging-*"))


def test_a_second_build_is_refused_while_one_holds_the_lock(published):
    out, all_dumps, before = published
    with build_lock(out), pytest.raises(BuildLocked, match=f"pid {os.getpid()}"):
        pipeline.run(all_dumps, out)
    assert _snapshot(out) == before
