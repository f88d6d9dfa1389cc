"""Validate stage: broken tables are caught, named by table, row and rule, all at once."""

from __future__ import annotations

import pytest

from newspack.package.validate import ValidationFailed, validate_tables


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


def test_every_check_is_run():
    import newspack.package.validate as validate

    defined = {
        name
        for name in dir(validate)
        if name.startswith("check_") and name != "check_chunk"  # run per chunk of rows
    }
    assert defined == {check.__name__ for check in validate.CROSS_TABLE_CHECKS}


def _set(table, column, value, row=0):
    def mutate(tables):
        frame = tables[table]
        frame.loc[frame.index[row], column] = value(frame.at[frame.index[row], column])
        return table, frame.index[row]

    return mutate


def _drop_first_ledger_line(tables):
    tables["line_ledger"] = tables["line_ledger"].iloc[1:]
    dump_id = tables["line_ledger"]["dump_id"].iloc[0]
    return "line_ledger", dump_id


def _every_version_canonical(tables):
    tables["article_versions"]["is_canonical"] = True
    return "article_versions", None


def _row_key(tables, table, index):
    from newspack.package.schema import primary_key

    frame = tables[table]
    return "/".join(str(frame.at[index, c]) for c in primary_key(table))


# One corruption per rule: (table, column, new value from old) and the rule it must break.
MUTATIONS = {
    "updated_kind: isin": _set("article_versions", "updated_kind", lambda v: "sometimes"),
    "caption: non-empty text": _set("photos", "caption", lambda v: ""),
    "foreign key": _set("bullets", "version", lambda v: 9),
    "line inside dump": _set("bullets", "line", lambda v: 10_000),
    "line range": _set("article_versions", "line_start", lambda v: 10_000 - 1),
    "updated before crawl": _set(
        "article_versions", "updated_at", lambda v: "2030-01-01T00:00:00Z"
    ),
    "one canonical version": _every_version_canonical,
    "canonical version": _set("articles", "canonical_version", lambda v: v + 5),
    "version count": _set("articles", "version_count", lambda v: v + 1),
    "every line accounted for": _drop_first_ledger_line,
    "ledger points at a row": _set("line_ledger", "row_key", lambda v: "nowhere/1"),
    "parsed dump": _set("dumps", "line_count", lambda v: None),
    "offsets slice to the text": _set("mentions", "end", lambda v: v + 1),
    "mention count": _set("entities", "mention_count", lambda v: v + 1),
    "related figure": _set("figures", "related_figure_id", lambda v: "fig_0000000000000000"),
}


@pytest.mark.parametrize("rule", MUTATIONS)
def test_each_rule_names_table_key_and_rule(tables, rule):
    broken = _copy(tables)
    table, index = MUTATIONS[rule](broken)
    if table == "line_ledger" and rule == "every line accounted for":
        expected_row = index  # a dump-wide rule names the dump
    elif index is None:
        expected_row = None
    else:
        expected_row = _row_key(broken, table, index)
    found = [p for p in _problems(broken) if p.table == table and p.rule.startswith(rule)]
    assert found, f"no {rule!r} problem for {table}"
    if expected_row is not None:
        assert any(p.row == expected_row for p in found), [p.row for p in found]
