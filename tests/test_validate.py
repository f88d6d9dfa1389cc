"""Validate stage: broken tables are caught, named by table, row and rule, all at once."""

from __future__ import annotations

import pytest

from newspack.validate import ValidationFailed, validate_tables


def _copy(tables):
    return {name: frame.copy() for name, frame in tables.items()}


def _problems(tables):
    with pytest.raises(ValidationFailed) as caught:
        validate_tables(tables)
    return caught.value.problems


def test_the_real_tables_are_valid(tables):
    validate_tables(tables)


def test_every_problem_is_reported_at_once(tables):
    broken = _copy(tables)
    bullets = broken["bullets"]
    bullets.loc[0, "version"] = 9  # a version that does not exist
    bullets.loc[1, "line"] = 10_000  # beyond its dump
    versions = broken["article_versions"]
    versions.loc[0, "updated_at"] = "2030-01-01T00:00:00Z"  # after the crawl
    broken["line_ledger"] = broken["line_ledger"].iloc[1:]  # line 1 of dump 000 unaccounted
    rules = {(p.table, p.rule) for p in _problems(broken)}
    assert {
        ("bullets", "foreign key"),
        ("bullets", "line inside dump"),
        ("article_versions", "updated before crawl"),
        ("line_ledger", "every line accounted for"),
    } <= rules


def test_schema_problems_name_the_row_and_check(tables):
    broken = _copy(tables)
    articles = broken["articles"]
    articles.loc[0, "article_id"] = "not-an-id"
    problems = [p for p in _problems(broken) if p.table == "articles"]
    assert any(p.row.startswith("not-an-id") and "article_id" in p.rule for p in problems)
    assert "not-an-id" in str(ValidationFailed(problems))


def test_duplicate_primary_key_is_caught(tables):
    broken = _copy(tables)
    paragraphs = broken["paragraphs"]
    paragraphs.loc[1, "position"] = paragraphs.loc[0, "position"]
    paragraphs.loc[1, ["article_id", "version"]] = paragraphs.loc[0, ["article_id", "version"]]
    assert any(p.table == "paragraphs" and "uniqueness" in p.rule for p in _problems(broken))


def test_two_canonical_versions_are_caught(tables):
    broken = _copy(tables)
    broken["article_versions"]["is_canonical"] = True
    assert any(p.rule == "one canonical version" for p in _problems(broken))
