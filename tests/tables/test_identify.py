"""Identify stage: stable article IDs, versions across dumps, duplicates."""

from __future__ import annotations

import json

import pytest

from layouts import DUMPS, dump_text, kazakhstan_article, munir_article, render
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_bytes, read_dump
from newspack.tables.frames import to_frame
from newspack.tables.identify import dump_rows, identify

REAL = sorted(DUMPS.glob("*.txt"))


def _ids(rows) -> dict[str, str]:
    return {r["title"]: r["article_id"] for r in rows["articles"]}


def _parsed(text: str, file: str):
    return parse_dump(read_bytes(text.encode("utf-8"), file))


def test_adding_a_dump_keeps_every_existing_id():
    first = identify([parse_dump(read_dump(REAL[0]))])
    both = identify([parse_dump(read_dump(p)) for p in REAL])
    assert _ids(first).items() <= _ids(both).items()


def test_order_of_input_does_not_matter():
    forward = identify([parse_dump(read_dump(p)) for p in REAL])
    backward = identify([parse_dump(read_dump(p)) for p in reversed(REAL)])
    for table in forward:
        assert to_frame(table, forward[table]).equals(to_frame(table, backward[table]))


def test_a_third_dump_with_a_new_version_and_a_repeat():
    munir, kazakh = munir_article(), kazakhstan_article()
    edited = munir.__class__(
        munir.title, "", munir.bullets, (*munir.paragraphs, "Munir’s office declined to comment.")
    )
    third = _parsed(
        dump_text(render(edited, "dump002"), render(kazakh, "dump002")), "003_0123abcd.txt"
    )
    before = identify([parse_dump(read_dump(p)) for p in REAL])
    after = identify([*(parse_dump(read_dump(p)) for p in REAL), third])
    assert _ids(before) == _ids(after)
    # Every row already published stays as it was, but for which version is canonical.
    for table in ("bullets", "paragraphs", "photos", "article_versions", "line_ledger"):
        rows_after = {json.dumps(r, sort_keys=True, default=str) for r in after[table]}
        for row in before[table]:
            if table == "article_versions" and row["article_id"] == _ids(after)[munir.title]:
                row = {**row, "is_canonical": False}
            assert json.dumps(row, sort_keys=True, default=str) in rows_after, (table, row)
    versions = {(r["article_id"], r["version"]): r for r in after["article_versions"]}
    munir_id = _ids(after)[munir.title]
    assert versions[(munir_id, 2)]["dump_id"] == "003_0123abcd"
    assert versions[(munir_id, 2)]["is_canonical"]
    # The Kazakhstan rendering repeats dump 002's version exactly: no version 3.
    kazakh_id = _ids(after)[kazakh.title]
    assert (kazakh_id, 3) not in versions
    repeats = [
        r
        for r in after["line_ledger"]
        if r["dump_id"] == "003_0123abcd" and r["reason"] == "duplicate_version"
    ]
    assert repeats and {r["row_key"] for r in repeats} == {f"{kazakh_id}/2"}


def test_a_changed_title_with_the_same_lead_is_the_same_story():
    kazakh = kazakhstan_article()
    retitled = kazakh.__class__(
        "Pakistan, Kazakhstan discuss overland trade routes",
        kazakh.caption,
        kazakh.bullets,
        kazakh.paragraphs,
    )
    rows = identify(
        [parse_dump(read_dump(p)) for p in REAL]
        + [_parsed(dump_text(render(retitled, "dump002")), "004_feed.txt")]
    )
    article = next(r for r in rows["articles"] if r["title"] == retitled.title)
    assert article["article_id"] == _ids(identify([parse_dump(read_dump(REAL[0]))]))[kazakh.title]
    assert article["version_count"] == 3


def test_a_dump_whose_placements_do_not_match_its_versions_is_refused_by_name():
    parsed = parse_dump(read_dump(REAL[0]))
    with pytest.raises(RuntimeError, match=f"{parsed.dump.dump_id}.*planned order"):
        dump_rows(parsed, [])
