"""Hostile and careless use (issue "Never lose, leak or wedge"): each numbered finding is
reproduced here and must now hold. newspack never deletes or changes a file it did not
create, never reads through links it was not asked to follow, never wedges its output
folder, and a bad input never stops the build."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from layouts import DUMP_002, dump_text, kazakhstan_article, munir_article, render, write_dump
from newspack import pipeline
from newspack.cli import app
from newspack.config import MAX_LINE_CHARS, workspace
from newspack.execution import store as store_module
from newspack.ingest.find import find_dumps
from newspack.package import ownership
from newspack.package.ownership import NotOwned
from newspack.package.publish import JOURNAL_NAME, STAGING_KIND, BuildLocked

runner = CliRunner()
MUNIR, KAZAKH = munir_article(), kazakhstan_article()


SMALL_DUMP = dump_text(render(KAZAKH, "dump002")[:16])  # header, bullets, two paragraphs


@pytest.fixture
def dumps(tmp_path) -> Path:
    """A folder holding one small dump: a real article's header, bullets and first
    paragraphs (every build here reads it, so it is kept short)."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    write_dump(folder, DUMP_002.name, SMALL_DUMP)
    return folder


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The small dump's package, built once: tests that need a published package start
    from a copy of it instead of building it again."""
    folder = tmp_path_factory.mktemp("template")
    (folder / "dumps").mkdir()
    write_dump(folder / "dumps", DUMP_002.name, SMALL_DUMP)
    pipeline.run(folder / "dumps", folder / "out")
    return folder / "out"


@pytest.fixture
def published(template, tmp_path) -> Path:
    """A folder holding a package newspack published (a copy of the template's)."""
    out = tmp_path / "o"
    shutil.copytree(template, out, symlinks=True)
    return out


def _cli(*args: str):
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000"})
    # An expected failure is a message and an exit status, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- 1. the cache folder ------------------------------------------------------------------


def test_1_a_cache_dir_holding_user_folders_is_refused_and_left_alone(dumps, tmp_path):
    cache = tmp_path / "p"
    for name in ("photos", "thesis"):
        (cache / name).mkdir(parents=True)
        (cache / name / "keep.txt").write_text("mine")
    before = _tree(cache)
    with pytest.raises(NotOwned, match="did not create"):
        pipeline.run(dumps, tmp_path / "o", cache_dir=cache)
    assert _tree(cache) == before


def test_1_cache_dir_equal_to_out_is_refused_and_the_package_kept(dumps, published):
    out = published
    before = _tree(out / "data")
    result = _cli("build", "--dumps", str(dumps), "--out", str(out), "--cache-dir", str(out))
    assert result.exit_code == 1 and "overlaps the output folder" in result.output
    assert _tree(out / "data") == before


def test_1_only_marked_cache_folders_are_removed_as_stale(dumps, published):
    out = published
    cache = out / ".newspack-cache"
    stale = cache / "0123456789abcdef"
    stale.mkdir()
    ownership.mark(stale, "cache-entries")
    (cache / "notes").mkdir()
    (cache / "notes" / "mine.txt").write_text("mine")
    pipeline.run(dumps, out)
    assert not stale.exists()
    assert (cache / "notes" / "mine.txt").read_text() == "mine"


# --- 2. the output folder -----------------------------------------------------------------


def test_2_an_out_folder_with_a_data_folder_of_its_own_is_refused(dumps, tmp_path):
    out = tmp_path / "o"
    (out / "data").mkdir(parents=True)
    (out / "data" / "thesis.csv").write_text("a,b\n1,2\n")
    (out / "datapackage.json").write_text('{"name": "my-own", "resources": []}')
    before = _tree(out)
    result = _cli("build", "--dumps", str(dumps), "--out", str(out))
    assert result.exit_code == 1 and "not a data package newspack wrote" in result.output
    assert _tree(out) == before
    (out / "datapackage.json").unlink()
    result = _cli("build", "--dumps", str(dumps), "--out", str(out))
    assert result.exit_code == 1 and "thesis.csv" in result.output
    assert (out / "data" / "thesis.csv").read_text() == "a,b\n1,2\n"


def test_2_a_file_added_to_a_published_data_folder_stops_the_next_build(dumps, published):
    out = published
    (out / "data" / "my-notes.csv").write_text("x\n")
    with pytest.raises(NotOwned, match=r"my-notes\.csv"):
        pipeline.run(dumps, out)
    assert (out / "data" / "my-notes.csv").exists()


# --- 3. links -----------------------------------------------------------------------------


def test_3_a_linked_dump_is_not_read_and_nothing_of_it_is_published(dumps, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-LINE:/root:/bin/bash\n")
    (dumps / "005_aaaaaaaaaaaaaaaa.txt").symlink_to(secret)
    out = tmp_path / "o"
    report = pipeline.run(dumps, out)
    assert any("005_aaaaaaaaaaaaaaaa.txt: a symbolic link" in w for w in report.warnings)
    published = b"".join(_tree(out).values())
    assert b"SECRET-LINE" not in published and b"005_aaaaaaaaaaaaaaaa" not in published
    with duckdb.connect(str(out / "dist" / "newspack.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dumps").fetchone() == (1,)


def test_3_follow_links_reads_only_links_inside_the_dumps_folder(dumps, tmp_path):
    (dumps / "007_bbbbbbbbbbbbbbbb.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text(dump_text(render(MUNIR, "dump002")))
    inside = dumps / "sub"
    inside.mkdir()
    write_dump(inside, "k.txt", dump_text(render(KAZAKH, "dump002")))
    (dumps / "006_cccccccccccccccc.txt").symlink_to(inside / "k.txt")
    paths, warnings = find_dumps(dumps, follow_links=True)
    assert [p.name for p in paths] == ["002_9dd43f1324fd2e02.txt", "006_cccccccccccccccc.txt"]
    assert any("007_bbbbbbbbbbbbbbbb.txt: a symbolic link to a file outside" in w for w in warnings)


def test_3_a_lock_file_planted_as_a_link_is_refused_and_its_target_untouched(dumps, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "o"
    out.mkdir()
    (out / ".newspack.lock").symlink_to(victim)
    with pytest.raises(BuildLocked, match="symbolic link"):
        pipeline.run(dumps, out)
    assert victim.read_text() == "precious"


# --- 4. --duckdb at a folder, and recovery that cannot wedge -------------------------------


def test_4_duckdb_at_a_folder_is_refused_before_anything_is_written(dumps, published, tmp_path):
    out, folder = published, tmp_path / "a-folder"
    folder.mkdir()
    before = _tree(out / "data")
    result = _cli("build", "--dumps", str(dumps), "--out", str(out), "--duckdb", str(folder))
    assert result.exit_code == 1 and "--duckdb must name a file" in result.output
    assert _tree(out / "data") == before and not (out / JOURNAL_NAME).exists()
    assert _cli("build", "--dumps", str(dumps), "--out", str(out)).exit_code == 0


def test_4_a_journal_that_cannot_be_completed_is_cleared_not_wedged(dumps, published, tmp_path):
    out = published
    staging = out / ".newspack-staging-x"
    staging.mkdir()
    ownership.mark(staging, STAGING_KIND)
    (staging / "newspack.duckdb").write_bytes(b"new")
    descriptor_sha = hashlib.sha256((out / "datapackage.json").read_bytes()).hexdigest()
    (tmp_path / "dir.duckdb").mkdir()
    journal = {"staging": staging.name, "descriptor_sha256": descriptor_sha}
    journal["duckdb"] = str(tmp_path / "dir.duckdb")
    (out / JOURNAL_NAME).write_text(json.dumps(journal))
    report = pipeline.run(dumps, out)
    assert any("except the DuckDB file" in w for w in report.warnings)
    assert not (out / JOURNAL_NAME).exists() and not staging.exists()
    (out / JOURNAL_NAME).write_text("{not json")
    report = pipeline.run(dumps, out)
    assert any("unreadable publication journal" in w for w in report.warnings)


def test_4_a_foreign_file_at_the_duckdb_path_is_not_replaced(dumps, tmp_path):
    mine = tmp_path / "mine.duckdb"
    mine.write_text("my notes")
    with pytest.raises(NotOwned, match="not a DuckDB file of this package"):
        pipeline.run(dumps, tmp_path / "o", duckdb_path=mine)
    assert mine.read_text() == "my notes"


# --- 5. spreadsheet formulas --------------------------------------------------------------


def test_5_cells_that_look_like_formulas_stay_literal(dumps, tmp_path):
    formula = '=HYPERLINK("http://example.org","click") said the post.'
    text = dump_text(render(MUNIR, "dump002")).replace(MUNIR.paragraphs[3], formula)
    write_dump(dumps, "003_dddddddddddddddd.txt", text)
    out = tmp_path / "o"
    pipeline.run(dumps, out)
    csv_text = (out / "data" / "paragraphs.csv").read_text(encoding="utf-8")
    assert '"=HYPERLINK(""http://example.org"",""click"") said the post."' in csv_text
    guide = Path(__file__).resolve().parents[1] / "docs" / "using-the-data.md"  # from README
    assert "formula" in guide.read_text(encoding="utf-8").lower()


# --- 6. very long lines -------------------------------------------------------------------


def test_6_a_huge_line_is_quarantined_whole_and_the_rest_published(dumps, tmp_path):
    huge = "word " * (1_100_000 // 5)  # over spaCy's 1,000,000-character limit
    text = dump_text(render(MUNIR, "dump002")).replace(MUNIR.paragraphs[3], huge.strip())
    write_dump(dumps, "003_dddddddddddddddd.txt", text)
    out = tmp_path / "o"
    result = _cli("build", "--dumps", str(dumps), "--out", str(out))
    assert result.exit_code == 0, result.output[:2000]
    assert len(result.output) < 20_000  # the line is not printed
    with duckdb.connect(str(out / "dist" / "newspack.duckdb"), read_only=True) as con:
        reason, length = con.execute(
            "SELECT reason, length(quarantined_text) FROM quarantine WHERE dump_id LIKE '003%'"
        ).fetchone()
        versions = con.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    assert reason == "line_too_long" and length == len(huge.strip()) > MAX_LINE_CHARS
    assert versions == 2  # the small dump's story, and the damaged one beside it


# --- 7. implausible dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "typo",
    ["Updated 09 September 0001", "Updated 09 September 2125", "Updated 31 February 2020"],
)
def test_7_an_implausible_date_is_flagged_not_fatal_nor_the_crawl_time(tmp_path, typo):
    text = dump_text(render(MUNIR, "dump002", updated=typo), render(KAZAKH, "dump002"))
    write_dump(tmp_path, "003_dddddddddddddddd.txt", text)
    report = pipeline.run(tmp_path, tmp_path / "o")
    versions = report.tables["article_versions"]
    flagged = versions[versions["updated_kind"] == "implausible"]
    assert flagged["updated_raw"].tolist() == [typo.removeprefix("Updated ")]
    assert flagged["updated_at"].isna().all()
    crawl = report.tables["dumps"].set_index("dump_id").loc["003_dddddddddddddddd", "crawl_time"]
    assert crawl == "2025-09-09T23:59:59Z"
    descriptor = json.loads((tmp_path / "o" / "datapackage.json").read_text())
    assert descriptor["created"] < "2026"
    assert any("implausible update time" in w for w in report.warnings)


# --- 8. unreadable files ------------------------------------------------------------------


def test_8_an_unreadable_dump_is_left_out_with_a_message(dumps, tmp_path, monkeypatch):
    write_dump(dumps, "004_eeeeeeeeeeeeeeee.txt", dump_text(render(MUNIR, "dump002")))
    real = store_module.read_file

    def denied(path, follow_links=False):
        if path.name.startswith("004_"):  # what a file without read permission gives
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, follow_links)

    monkeypatch.setattr(store_module, "read_file", denied)
    result = _cli("build", "--dumps", str(dumps), "--out", str(tmp_path / "o"), "--strict")
    assert result.exit_code == 2
    assert "004_eeeeeeeeeeeeeeee.txt: cannot be read (Permission denied)" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_8_a_file_without_read_permission(dumps, tmp_path):
    path = write_dump(dumps, "004_eeeeeeeeeeeeeeee.txt", "Title\n")
    path.chmod(0)
    report = pipeline.run(dumps, tmp_path / "o")
    assert any("cannot be read" in w for w in report.warnings)


# --- 9. silent skips ----------------------------------------------------------------------


def test_9_whitespace_dumps_folders_and_broken_links_are_reported(dumps, tmp_path):
    write_dump(dumps, "004_ffffffffffffffff.txt", " \n\t\n  \n")
    (dumps / "005_folder.txt").mkdir()
    (dumps / "006_dangling.txt").symlink_to(tmp_path / "missing")
    (dumps / "007_loop.txt").symlink_to(dumps / "007_loop.txt")
    result = _cli("build", "--dumps", str(dumps), "--out", str(tmp_path / "o"), "--strict")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "004_ffffffffffffffff.txt: line 1: only whitespace" in output
    assert "005_folder.txt: not a regular file" in output
    assert "006_dangling.txt: a symbolic link" in output
    assert "007_loop.txt: a symbolic link" in output
    _, warnings = find_dumps(dumps, follow_links=True)
    assert {"006_dangling.txt: a broken symbolic link", "007_loop.txt: a broken symbolic link"} <= {
        w.split(" (")[0] for w in warnings
    }


# --- 10. encodings ------------------------------------------------------------------------


def test_10_utf16_without_bom_is_named_with_the_fix(dumps, tmp_path):
    text = dump_text(render(MUNIR, "dump002"))
    write_dump(dumps, "004_aaaa.txt", text.encode("utf-16-le"))
    report = pipeline.run(dumps, tmp_path / "o")
    problem = report.tables["dumps"].set_index("dump_id").loc["004_aaaa", "problem"]
    assert "looks like UTF-16 (LE) without a byte order mark" in problem
    assert "iconv -f UTF-16LE -t UTF-8" in problem


def test_10_a_utf8_dump_with_one_windows_1252_paragraph_is_read_whole(dumps, tmp_path):
    lines = dump_text(render(MUNIR, "dump002")).split("\n")
    index = lines.index(MUNIR.paragraphs[2])
    lines[index] = lines[index] + " \u201cQuoted\u201d"  # this paragraph's quotes in cp1252
    data = "\n".join(lines[:index]).encode() + b"\n" + lines[index].encode("cp1252")
    data += b"\n" + "\n".join(lines[index + 1 :]).encode()
    data += " Caf\u00e9 \u201cend\u201d\n".encode()  # UTF-8 bytes undefined in cp1252 (0x9d)
    write_dump(dumps, "004_bbbb.txt", data)
    report = pipeline.run(dumps, tmp_path / "o")
    dump = report.tables["dumps"].set_index("dump_id").loc["004_bbbb"]
    assert (dump["dump_status"], dump["encoding"]) == ("parsed", "mixed")
    paragraphs = report.tables["paragraphs"]["text"]
    assert paragraphs.str.endswith("\u201cQuoted\u201d").sum() == 1


# --- 11. messages, not tracebacks ---------------------------------------------------------


def test_11_diff_of_garbage_wrong_zips_and_itself(tmp_path, built):
    _, out = built
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"\x00not a zip")
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("hello.txt", "hi")
    missing = tmp_path / "nowhere"
    for path in (garbage, wrong, missing):
        result = _cli("diff", str(path), str(out))
        assert result.exit_code == 1 and str(path) in " ".join(result.output.split())
    same = _cli("diff", str(out), str(out))
    assert same.exit_code == 0 and "no changes" in same.output and "bump" not in same.output


def test_11_fetch_with_broken_indexes(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope")
    no_url = tmp_path / "no-url.json"
    no_url.write_text(json.dumps({"releases": [{"version": "1.0.0", "sha256": "ab"}]}))
    for index in (tmp_path / "missing.json", bad_json, no_url):
        result = _cli("fetch", "1.0.0", "--index", str(index), "--cache", str(tmp_path / "c"))
        assert result.exit_code == 1 and index.name in result.output


def test_11_fetch_of_a_file_url_works(tmp_path):
    release = tmp_path / "newspack-1.0.0.zip"
    release.write_bytes(b"release bytes")
    sha = hashlib.sha256(release.read_bytes()).hexdigest()
    index = tmp_path / "releases.json"
    entry = {"version": "1.0.0", "url": release.as_uri(), "sha256": sha}
    index.write_text(json.dumps({"releases": [entry]}))
    result = _cli("fetch", "1.0.0", "--index", str(index), "--cache", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()).read_bytes() == b"release bytes"


def test_11_bad_paths_and_markup_give_messages(dumps, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    result = _cli("validate", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "no datapackage.json" in result.output
    result = _cli("build", "--dumps", str(dumps), "--out", str(a_file))
    assert result.exit_code == 1 and "must name a folder" in result.output
    result = _cli("build", "--dumps", str(a_file), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "not a file" in result.output
    markup = tmp_path / "x[/b]"
    result = _cli("build", "--dumps", str(markup), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "x[/b]" in result.output
    result = _cli(
        "build",
        "--dumps",
        str(dumps),
        "--out",
        str(tmp_path / "o"),
        "--crawl-time",
        "999_x=2025-01-01",
    )
    assert result.exit_code == 1 and "--crawl-time names no dump" in result.output


# --- 12. validation names table, key and rule ----------------------------------------------


def test_12_validate_names_rows_by_key_and_catches_version_counts(tmp_path, built):
    _, out = built
    copy = tmp_path / "pkg"
    shutil.copytree(out / "data", copy / "data")
    descriptor = json.loads((out / "datapackage.json").read_text())
    path = copy / "data" / "articles.csv"
    lines = path.read_text().split("\n")
    header, row = lines[0].split(","), lines[1].split(",")
    row[header.index("version_count")] = "7"
    lines[1] = ",".join(row)
    path.write_text("\n".join(lines))
    resource = next(r for r in descriptor["resources"] if r["name"] == "articles")
    resource["hash"] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    resource["bytes"] = path.stat().st_size
    (copy / "datapackage.json").write_text(json.dumps(descriptor))
    result = _cli("validate", str(copy))
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"[{row[0]}] version_count 7, but" in output and "articles: version count" in output


def test_12_no_build_writes_a_journal_behind(template):
    out = template
    assert not (out / JOURNAL_NAME).exists()
    assert not list(out.glob(".newspack-staging-*")) and not list(out.glob(".newspack-store-*"))


# --- 14. defaults from the working folder --------------------------------------------------


def test_14_defaults_are_the_working_folder_not_the_installed_package(dumps, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(dumps, work / "mydumps")
    monkeypatch.chdir(work)
    assert workspace() == work.resolve()
    result = _cli("build", "--dumps", "mydumps", "--no-cache")
    assert result.exit_code == 0, result.output
    assert (work / "datapackage.json").is_file() and (work / "dist" / "newspack.duckdb").is_file()
    help_text = " ".join(_cli("build", "--help").output.split())
    assert "current folder" in help_text


def test_14_inside_a_checkout_the_default_is_the_repository(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    assert workspace(repo / "tests" / "gold") == repo


# --- leaks after kill -9 --------------------------------------------------------------------


def test_stale_staging_store_and_tables_folders_are_removed_others_kept(dumps, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    stale = [out / ".newspack-staging-dead", out / ".newspack-store-dead"]
    stale += [out / ".newspack-tables-dead"]
    kinds = (STAGING_KIND, pipeline.SCRATCH_KIND, pipeline.CORPUS_KIND)
    for folder, kind in zip(stale, kinds, strict=True):
        folder.mkdir()
        ownership.mark(folder, kind)
    foreign = out / ".newspack-staging-not-ours"
    foreign.mkdir()
    (foreign / "keep").write_text("mine")
    pipeline.run(dumps, out, use_cache=False)
    assert not any(folder.exists() for folder in stale)
    assert (foreign / "keep").read_text() == "mine"


WORKER_PARENT = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from newspack.execution.local import exit_with_parent

    if __name__ == "__main__":
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            2, mp_context=context, initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
        print(" ".join(map(str, sorted(pids))), flush=True)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(WORKER_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and all(_alive(pid) for pid in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30  # a wait for an event, not a speed check
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


# --- found by a second hostile pass -----------------------------------------------------


def test_a_cache_folder_that_only_looks_like_newspack_s_is_not_adopted(dumps, tmp_path):
    cache = tmp_path / "X" / ".newspack-cache"
    (cache / "mydatasets_2024a").mkdir(parents=True)
    (cache / "mydatasets_2024a" / "model.pickle").write_text("precious")
    with pytest.raises(NotOwned, match="did not create"):
        pipeline.run(dumps, tmp_path / "o", cache_dir=cache)
    assert (cache / "mydatasets_2024a" / "model.pickle").read_text() == "precious"


@pytest.mark.parametrize(
    "target",
    [
        "data/articles.csv",
        "datapackage.json",
        "data/x.duckdb",
        ".newspack-publish.json",
        ".newspack-tables-0a1b2c3d4e5f/x.duckdb",  # inside a build's scratch folder
    ],
)
def test_duckdb_at_a_path_newspack_publishes_is_refused(dumps, tmp_path, target):
    out = tmp_path / "o"
    result = _cli("build", "--dumps", str(dumps), "--out", str(out), "--duckdb", str(out / target))
    assert result.exit_code == 1 and "--duckdb names a file newspack publishes" in result.output
    assert not out.exists() or not (out / "data").exists()


def test_duckdb_inside_the_cache_is_refused_before_anything_is_published(dumps, tmp_path):
    out, cache = tmp_path / "o", tmp_path / "c"
    args = ["build", "--dumps", str(dumps), "--out", str(out), "--cache-dir", str(cache)]
    result = _cli(*args, "--duckdb", str(cache))
    assert result.exit_code == 1 and not (out / "data").exists()


def test_a_dump_named_with_bytes_that_are_not_utf8_is_left_out(dumps, tmp_path):
    odd = os.fsdecode(b"003_\xff.txt")
    (dumps / odd).write_text(dump_text(render(MUNIR, "dump002")))
    report = pipeline.run(dumps, tmp_path / "o")
    assert any("003_\\xff.txt: a name with control characters" in w for w in report.warnings)
    assert len(report.tables["dumps"]) == 1


@pytest.mark.parametrize("planted", ["fifo", "dev-zero", "bad-staging", "empty-staging-name"])
def test_a_planted_or_broken_journal_never_hangs_crashes_or_deletes(
    dumps, published, tmp_path, planted
):
    out = published
    (out / "notes.md").write_text("mine")
    journal = out / JOURNAL_NAME
    if planted == "fifo":
        os.mkfifo(journal)
    elif planted == "dev-zero":
        journal.symlink_to("/dev/zero")
    else:
        name = ".newspack-staging-zz" if planted == "bad-staging" else ""
        staging = out / name
        if name:
            staging.mkdir()
            (staging / "data").mkdir()
            (staging / "new.json").write_text("{}")
        if not (staging / ".newspack-owner").exists():
            ownership.mark(staging, STAGING_KIND)
        record = {"staging": name, "descriptor_sha256": "x", "duckdb": str(tmp_path / "d.db")}
        journal.write_text(json.dumps(record))
    report = pipeline.run(dumps, out)
    assert any("publication" in w for w in report.warnings), report.warnings
    assert (out / "notes.md").read_text() == "mine" and not os.path.lexists(journal)


def test_fetch_never_replaces_a_file_of_the_user(tmp_path):
    release = tmp_path / "rel.zip"
    release.write_bytes(b"release")
    sha = hashlib.sha256(b"release").hexdigest()
    index = tmp_path / "i.json"
    entry = {"version": "1.0.0", "url": str(release), "sha256": sha}
    index.write_text(json.dumps({"releases": [entry]}))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "rel.zip").write_text("my own file")
    result = _cli("fetch", "1.0.0", "--index", str(index), "--cache", str(cache))
    assert result.exit_code == 1 and "will not replace" in result.output
    assert (cache / "rel.zip").read_text() == "my own file"
    result = _cli("fetch", "1.0.0", "--index", str(index), "--cache", str(release))
    assert result.exit_code == 1 and "must name a folder" in result.output


@pytest.mark.parametrize(
    "resources",
    [["x"], [{"name": "a", "path": 5}], [{"name": "a", "path": "/etc/passwd", "schema": {}}]],
)
def test_diff_of_malformed_descriptors_is_a_message(tmp_path, built, resources):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "datapackage.json").write_text(json.dumps({"resources": resources}))
    result = _cli("diff", str(folder), str(built[1]))
    assert result.exit_code == 1 and "root:" not in result.output


def test_validate_of_a_package_that_is_not_newspack_s(tmp_path):
    folder = tmp_path / "pkg"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "t.csv").write_text("a\n1\n")
    resource = {"name": "t", "path": "data/t.csv", "schema": {"fields": [{"name": "a"}]}}
    (folder / "datapackage.json").write_text(json.dumps({"name": "x", "resources": [resource]}))
    result = _cli("validate", str(folder))
    assert result.exit_code == 1 and "not a newspack package" in result.output


def test_a_data_dictionary_of_the_user_is_not_replaced(dumps, tmp_path):
    out = tmp_path / "o"
    (out / "docs").mkdir(parents=True)
    (out / "docs" / "data-dictionary.md").write_text("# my own notes\n")
    report = pipeline.run(dumps, out)
    assert (out / "docs" / "data-dictionary.md").read_text() == "# my own notes\n"
    assert any("data-dictionary.md: not written by newspack" in w for w in report.warnings)


# --- found by review -------------------------------------------------------------------------


def test_a_first_publication_killed_after_the_data_swap_does_not_block_the_next(
    dumps, tmp_path, monkeypatch
):
    from newspack.package import publish

    def crash(step):
        if step == "data":
            raise KeyboardInterrupt  # what a kill between two steps leaves behind

    monkeypatch.setattr(publish, "after_step", crash)
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(dumps, out)
    monkeypatch.undo()
    report = pipeline.run(dumps, out)
    assert any("rolled back" in w for w in report.warnings)
    assert (out / "datapackage.json").is_file()


def test_duckdb_reaching_data_through_dot_dot_is_refused(dumps, tmp_path):
    out = tmp_path / "o"
    with pytest.raises(NotOwned, match="--duckdb names a file newspack publishes"):
        pipeline.run(dumps, out, duckdb_path=out / "dist" / ".." / "data" / "x.duckdb")


def test_a_folder_at_the_journal_path_is_a_message_not_a_traceback(dumps, published):
    (published / JOURNAL_NAME).mkdir()
    result = _cli("build", "--dumps", str(dumps), "--out", str(published))
    assert result.exit_code == 1 and "a folder where the publication journal goes" in result.output


def test_utf16_news_text_with_curly_quotes_is_read():
    from newspack.ingest.read import read_bytes

    text = "Pakistan\u2019s \u201cfloods\u201d hit Sindh, officials said.\n" * 20
    dump = read_bytes(text.encode("utf-16"), "001_u16.txt")
    assert dump.encoding == "utf-16" and dump.lines[0].text == text.split("\n")[0]
