"""The whole build on the real dumps: values a reader can check against dumps/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from frictionless import Package

from newspack import pipeline
from newspack.config import GOLDEN_ROW_COUNTS, REPO_DUMPS_DIR, REPO_ROOT

pytestmark = pytest.mark.integration

KAZAKH_TITLE = (
    "Pakistan seeks overland access to Central Asia, Europe in talks with Kazakh deputy PM"
)
DUMP_000, DUMP_002 = "000_179fe664de7d926d", "002_9dd43f1324fd2e02"


def _article(tables, title):
    articles = tables["articles"]
    return articles[articles["title"] == title].iloc[0]


def test_eight_versions_of_seven_articles(tables):
    assert len(tables["articles"]) == 7
    assert len(tables["article_versions"]) == 8
    assert tables["article_versions"]["article_id"].nunique() == 7
    assert list(tables["dumps"]["block_count"]) == [6, 2]


def test_kazakhstan_article_has_two_versions_and_the_dump_002_one_is_canonical(tables):
    article = _article(tables, KAZAKH_TITLE)
    versions = tables["article_versions"]
    kazakh = versions[versions["article_id"] == article["article_id"]].sort_values("version")
    assert list(kazakh["dump_id"]) == [DUMP_000, DUMP_002]
    assert list(kazakh["is_canonical"]) == [False, True]
    assert article["canonical_version"] == 2 and article["dump_id"] == DUMP_002
    assert list(kazakh["updated_raw"]) == ["20 sec ago", "09 September 2025"]
    assert list(kazakh["updated_at"]) == ["2025-09-09T23:59:39Z", "2025-09-09T00:00:00Z"]
    assert list(kazakh["updated_at_inferred"]) == [True, False]
    bullets = tables["bullets"]
    v1 = bullets[(bullets["article_id"] == article["article_id"]) & (bullets["version"] == 1)]
    v2 = bullets[(bullets["article_id"] == article["article_id"]) & (bullets["version"] == 2)]
    assert v1["text"].iloc[0] == (
        "Both sides reaffirm resolve to deepen ties ahead of the Kazakh president’s November visit"
    )
    assert v2["text"].iloc[0] == (
        "Both sides reaffirm resolve to deepen relations ahead of Kazakh president’s November visit"
    )
    assert list(v2["line"]) == [10, 11]


def test_every_version_has_its_two_bullets(tables):
    counts = tables["bullets"].groupby(["article_id", "version"]).size()
    assert len(counts) == 8 and set(counts) == {2}
    assert set(tables["article_versions"]["bullet_count"]) == {2}


def test_datelines_and_update_times(tables):
    amnesty = _article(
        tables, "Amnesty says Pakistan spying on millions through phone-tapping, firewall"
    )
    assert (amnesty["dateline"], amnesty["dateline_city"]) == ("KARACHI", "Karachi")
    assert amnesty["updated_at"] == "2025-09-09T00:00:00Z" and not amnesty["updated_at_inferred"]
    munir = _article(
        tables, "Pakistan’s military chief Asim Munir in spotlight over Trump’s Gaza plan"
    )
    assert (munir["updated_raw"], munir["updated_kind"]) == ("5 sec ago", "relative")
    assert munir["updated_at_inferred"]
    assert set(tables["articles"]["dateline_city"]) == {"Islamabad", "Karachi"}


def test_captions_and_credits(tables):
    photos = tables["photos"].set_index(["dump_id", "line"])
    lead = photos.loc[(DUMP_002, 3)]
    assert lead["placement"] == "lead" and lead["credit"] == "MOFA"
    assert lead["caption"].endswith("in Islamabad, Pakistan, on September 9, 2025.")
    xi = photos.loc[(DUMP_000, 96)]
    assert (xi["placement"], xi["credit"], xi["after_paragraph"]) == (
        "inline",
        "China Daily via REUTERS",
        6,
    )
    assert photos.loc[(DUMP_000, 122)]["credit"] == "AFP/File"


def test_headings_are_paragraphs_of_kind_heading(tables):
    paragraphs = tables["paragraphs"]
    headings = paragraphs[paragraphs["kind"] == "heading"]
    assert {(r.dump_id, r.line_start, r.text) for r in headings.itertuples()} >= {
        (DUMP_002, 29, "MARITIME PUSH"),
        (DUMP_002, 66, "‘PRESSURE TO DELIVER’"),
        (DUMP_000, 110, "CHINESE INVESTORS ‘READY TO RELOCATE’ TO PAKISTAN"),
        (DUMP_000, 240, "FOREIGN SUPPLIERS"),
    }


def test_ledger_accounts_for_every_line_of_both_dumps(tables):
    ledger = tables["line_ledger"]
    for dump in tables["dumps"].itertuples():
        raw = (REPO_ROOT / "dumps" / dump.file).read_bytes().decode("utf-8")
        expected = len(raw.split("\n")) - (1 if raw.endswith("\n") else 0)
        lines = ledger[ledger["dump_id"] == dump.dump_id]["line"]
        assert sorted(lines) == list(range(1, expected + 1))
    published = ledger[ledger["status"] == "published"]
    assert set(published["table_name"]) == {"article_versions", "bullets", "paragraphs", "photos"}
    assert len(published[published["table_name"] == "paragraphs"]) == len(tables["paragraphs"])
    assert set(ledger.loc[ledger["status"] == "dropped", "reason"]) == {
        "blank",
        "repeated_title",
        "short_url_label",
        "follow_button",
    }


def test_frictionless_validates_the_package(built):
    _, out = built
    report = Package(str(out / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "message"])


def test_duckdb_has_tables_keys_comments_and_views(built):
    report, _ = built
    with duckdb.connect(str(report.outputs["duckdb"]), read_only=True) as con:
        n = con.execute(
            "SELECT count(*) FROM articles a JOIN article_versions v "
            "ON v.article_id = a.article_id AND v.version = a.canonical_version"
        ).fetchone()
        assert n == (7,)
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'articles' "
            "AND column_name = 'article_id'"
        ).fetchone()[0]
        assert comment.startswith("Stable identifier of a story across dumps")
        fks = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY'"
        ).fetchone()[0]
        assert fks >= 6
        body = con.execute(
            "SELECT body FROM article_text WHERE title LIKE 'UN allocates%'"
        ).fetchone()
        assert body[0].startswith("ISLAMABAD: The United Nations has allocated $5 million")


def test_row_counts_match_the_golden_file(tables):
    golden = json.loads(GOLDEN_ROW_COUNTS.read_text(encoding="utf-8"))
    assert {t: len(f) for t, f in tables.items()} == golden


def _package_files(root: Path) -> dict[str, bytes]:
    files = {"datapackage.json": (root / "datapackage.json").read_bytes()}
    files |= {f"data/{p.name}": p.read_bytes() for p in sorted((root / "data").glob("*.csv"))}
    files["docs/data-dictionary.md"] = (root / "docs" / "data-dictionary.md").read_bytes()
    return files


def test_committed_package_equals_a_fresh_build(built):
    _, out = built
    assert _package_files(REPO_ROOT) == _package_files(out), (
        "data/, datapackage.json or docs/data-dictionary.md differ from a fresh build: "
        "run `nox -s build` and commit"
    )


def _duckdb_contents(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def test_rebuild_is_byte_identical(built, tmp_path):
    report, out = built
    rebuilt = pipeline.run(REPO_DUMPS_DIR, tmp_path)
    assert _package_files(tmp_path) == _package_files(out)
    assert _duckdb_contents(rebuilt.outputs["duckdb"]) == _duckdb_contents(report.outputs["duckdb"])


def test_rebuild_in_another_process_with_another_hash_seed_is_byte_identical(built, tmp_path):
    # Set and dict iteration order of strings changes with the hash seed between processes.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-m", "newspack.cli", "build", "--out", str(tmp_path)],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _package_files(tmp_path) == _package_files(built[1])
