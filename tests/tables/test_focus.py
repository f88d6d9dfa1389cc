"""Geographic focus (issue #26): each signal of tables/focus.py on a short article written
here and run through the real per-article path (tests/articles.py), and the invariants of
the article_focus table of the built package."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles import focus
from newspack.ingest.sources import Source
from newspack.package.validate import validate_tables
from newspack.rules import load_rules
from newspack.tables.focus import context, country_of_demonym, position_weight
from newspack.tables.places import default_gazetteer


def _countries(rows: list[dict]) -> list[str]:
    return [r["country_code"] for r in sorted(rows, key=lambda r: r["rank"])]


# --- where a mention stands -------------------------------------------------------------


def _src(source: str, position: int = 1) -> Source:
    return Source("art_0000000000000001", 1, source, position, "text", "d", 1)


def test_title_and_bullets_weigh_more_than_the_tenth_paragraph():
    weights = [
        position_weight(_src(kind, n))
        for kind, n in [("title", 1), ("bullet", 1), ("paragraph", 1), ("paragraph", 2)]
    ]
    assert weights == sorted(weights, reverse=True)
    assert position_weight(_src("paragraph", 10)) < position_weight(_src("paragraph", 2))
    assert position_weight(_src("caption")) < position_weight(_src("paragraph", 2))


def test_the_headline_country_beats_one_named_more_often_in_the_body():
    rows = focus(
        "Officials said talks would continue. India was not invited.",
        "Trade with India fell last year, the ministry said.",
        title="Pakistan raises tariffs on steel imports",
    )
    # India is named twice, but only in the body: background, not a party (C8).
    assert _countries(rows) == ["PK"]
    assert rows[0]["place_kind"] == "country" and "title" in rows[0]["basis"]


# --- places inside places --------------------------------------------------------------


def test_a_city_counts_for_its_province_and_its_country():
    rows = focus(
        "Torrential rain flooded streets in Karachi and Hyderabad on Monday, officials said.",
        "Schools in Karachi were closed.",
        title="Rain floods streets in Karachi",
    )
    assert _countries(rows) == ["PK"]  # Pakistan is never named
    assert (rows[0]["place"], rows[0]["place_kind"], rows[0]["subdivision_code"]) == (
        "Karachi",
        "city",
        "PK-SD",
    )
    assert "places_inside" in rows[0]["basis"]


def test_acronyms_the_entity_stage_resolves_count_for_their_place():
    rows = focus(
        "Gunmen attacked a police post in Pakistan's northwestern Khyber Pakhtunkhwa (KP) "
        "province on Monday, killing two officers.",
        "Attacks on police in KP have risen this year, officials said.",
        "The KP government announced compensation for the families.",
    )
    assert rows[0]["country_code"] == "PK"
    assert (rows[0]["place"], rows[0]["subdivision_code"]) == ("Khyber Pakhtunkhwa", "PK-KP")


def test_the_kingdom_is_saudi_arabia():
    rows = focus(
        "The Kingdom will host the summit next year.",
        "Officials said the Kingdom had invited leaders from 40 countries, including Egypt.",
        title="Summit to be held next year",
    )
    assert _countries(rows) == ["SA"]
    assert rows[0]["basis"] == "alias" and rows[0]["place_entity_id"] is None


# --- the dateline -------------------------------------------------------------------------


@pytest.mark.parametrize(("dateline", "main"), [("Muscat", "OM"), ("Doha", "QA")])
def test_the_dateline_decides_between_countries_named_alike(dateline, main):
    rows = focus(
        "The minister met his counterpart from Qatar on Monday.",
        "Oman and Qatar signed three agreements.",
        dateline=dateline,
    )
    assert rows[0]["country_code"] == main
    assert "dateline" in rows[0]["basis"]


def test_the_dateline_alone_makes_no_place():
    rows = focus(
        "Pakistan's central bank kept its policy rate unchanged on Monday.",
        "Inflation in Pakistan eased to 4 percent.",
        dateline="Karachi",
    )
    assert _countries(rows) == ["PK"]
    assert rows[0]["place_kind"] == "country"


# --- demonyms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "code", "kind"),
    [
        ("Pakistani", "PK", "country"),  # rules/demonyms.yaml
        ("Pakistanis", "PK", "country"),
        ("Baloch", "PK", "subdivision"),  # a people of a province
        ("Egyptian", "EG", "country"),  # not listed: the country its stem names
        ("Omanis", "OM", "country"),
        ("Jordanian", "JO", "country"),
    ],
)
def test_demonyms_name_their_country(word, code, kind):
    place = country_of_demonym(word, default_gazetteer())
    assert (place.country_code, place.kind) == (code, kind)


@pytest.mark.parametrize("word", ["Asian", "Muslim", "Western", "Arab"])
def test_words_of_no_one_country_name_none(word):
    assert country_of_demonym(word, default_gazetteer()) is None


def test_pakistanis_in_saudi_arabia_are_a_saudi_story_about_pakistan():
    rows = focus(
        "Pakistani workers sent home record remittances, officials said.",
        "The Pakistani community celebrated.",
        title="Pakistani workers in Riyadh",
    )
    # The story happens in Riyadh (C5): Saudi Arabia first, Pakistan by its demonym second.
    assert _countries(rows) == ["SA", "PK"]
    assert rows[0]["place"] == "Riyadh"
    assert "demonym" in rows[1]["basis"]


# --- where events happen, against where people come from ----------------------------------


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("Floods hit villages in Dadu district.", "Dadu", "event"),
        ("Aid reached flood-hit Sindh on Monday.", "Sindh", "event"),
        ("The Dadu district office opened.", "Dadu", "event"),
        ("The miners, natives of Swat, were freed.", "Swat", "origin"),
        ("Workers from Swat were freed.", "Swat", "origin"),
        ("The province of Punjab said it would help.", "Punjab", None),
        ("Punjab said it would help.", "Punjab", None),
    ],
)
def test_the_words_around_a_place_say_whether_the_story_happens_there(text, name, expected):
    start = text.index(name)
    assert context(text, start, start + len(name)) == expected


def test_the_place_is_where_the_event_happens_not_where_the_people_come_from():
    rows = focus(
        "Rescuers pulled 12 miners from a collapsed coal mine in Harnai in Balochistan on Monday.",
        "The miners, natives of Shangla and Swat, were taken to hospital in Quetta.",
        "Families in Shangla and Swat waited for news. Shangla and Swat officials sent ambulances.",
        title="12 miners rescued in Balochistan",
    )
    assert rows[0]["country_code"] == "PK"
    assert rows[0]["subdivision_code"] == "PK-BA"  # Balochistan, not Swat's Khyber Pakhtunkhwa


# --- national stories and the cap -------------------------------------------------------------


def test_a_provincial_breakdown_is_a_national_story():
    rows = focus(
        "The campaign ran in Punjab, Sindh, Balochistan and Khyber Pakhtunkhwa.",
        "In Punjab, 9 million children were vaccinated; in Sindh, 5 million; in Balochistan, "
        "1 million; in Khyber Pakhtunkhwa, 3 million.",
        title="Pakistan completes nationwide polio drive",
    )
    assert _countries(rows) == ["PK"]
    assert rows[0]["place_kind"] == "country"


def test_at_most_three_countries_each_named_in_the_headline():
    rows = focus(
        "Officials from Iran, Iraq, Syria, Jordan and Lebanon attended.",
        title="Egypt, Qatar, Oman and Kuwait sign trade pact in Cairo",
    )
    countries = _countries(rows)
    assert countries[0] == "EG" and rows[0]["place"] == "Cairo"  # where it happens
    assert len(countries) == 3
    assert set(countries) <= {"EG", "QA", "OM", "KW"}  # the body's five are background
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert all(0 < r["score"] <= 1 for r in rows)


def test_every_weight_has_its_reason():
    def entries(node):
        if isinstance(node, dict):
            if any(k in node for k in ("value", "weight", "factor")):
                yield node
            else:
                for child in node.values():
                    yield from entries(child)
        elif isinstance(node, list):
            for child in node:
                yield from entries(child)

    found = list(entries(load_rules("focus")))
    assert len(found) > 10
    assert all(entry.get("reason") for entry in found)


# --- the built package -------------------------------------------------------------------------


def test_every_article_that_names_a_place_has_a_main_focus(tables):
    entities = tables["entities"].set_index("entity_id")
    mentions = tables["mentions"]
    placed = mentions[mentions["entity_id"].map(entities["country_code"]).notna()]
    naming = set(placed["article_id"])
    focus_rows = tables["article_focus"]
    main = set(focus_rows.loc[focus_rows["rank"] == 1, "article_id"])
    assert naming and naming <= main


def test_focus_rows_hold_their_keys_and_the_cap(tables):
    focus_rows = tables["article_focus"]
    assert focus_rows.groupby("article_id").size().max() <= 3
    validate_tables(tables)  # focus checks and keys included (package/validate.py)
    entities = tables["entities"].set_index("entity_id")
    named = focus_rows[focus_rows["place_entity_id"].notna()]
    assert (named["place_entity_id"].map(entities["entity_type"]) == "GPE").all()
    assert pd.Series(focus_rows["country_code"]).str.fullmatch(r"[A-Z]{2}").all()


def _context_reading_the_whole_text(text: str, start: int, end: int) -> str | None:
    """context() as first written: every word before and after the place split, and the
    whole text before it searched (the square of a text's length per text)."""
    from newspack.tables.focus import _event_before, _rules

    before = text[:start].split()
    last = before[-1].lower() if before else ""
    after = text[end:].split()
    following = after[0].lower().strip(".,;:") if after else ""
    if last == "from" or (
        last == "of" and len(before) > 1 and before[-2].lower() in _rules()["origin_nouns"]
    ):
        return "origin"
    if last in _rules()["event_before"] or _event_before().search(text[:start]):
        return "event"
    if following in _rules()["event_after"]:
        return "event"
    return None


_CONTEXT_PIECES = st.sampled_from(
    [
        " ",
        "   ",
        "\n",
        "\u00a0",
        ".",
        ",",
        "flood-hit",
        "quake-struck",
        "Floods",
        "from",
        "natives",
        "of",
        "in",
        "the",
        "district",
        "Sindh",
        "x" * 70,
        " " * 70,
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CONTEXT_PIECES, max_size=10), st.lists(_CONTEXT_PIECES, max_size=4))
def test_the_context_of_a_place_is_read_as_from_the_whole_text(before, after):
    text = "".join(before) + "Dadu" + "".join(after)
    start = len("".join(before))
    expected = _context_reading_the_whole_text(text, start, start + 4)
    assert context(text, start, start + 4) == expected


def test_a_place_far_after_its_event_word_is_still_its_setting():
    assert context("flood-hit" + " " * 80 + "Sindh", 89, 94) == "event"
