"""Enrich stage, entity classes seen on real pages (issue "Pages from any year"): each a
general rule, tested on sentences written for the test through the real model and the real
per-article canonicalisation (tests/articles.py)."""

from __future__ import annotations

import pytest

from articles import ARTICLE_ID, enrich
from newspack.ingest.sources import Source
from newspack.nlp import kinds
from newspack.nlp.analyse import analyse_texts
from newspack.tables.figures import figure_rows
from newspack.tables.places import default_gazetteer


def entities(*paragraphs: str) -> set[tuple[str, str]]:
    table, mentions, _ = enrich(*paragraphs)
    return {(table.type_of(m["entity_id"]), table.name_of(m["entity_id"])) for m in mentions}


def test_a_long_form_starts_where_its_abbreviation_s_initials_do():
    found = entities(
        "The plants are run with the Emirates Red Crescent and the Sindh Irrigation, Drainage "
        "and Water Management Authority (SIDWMA), and the King Salman Humanitarian Aid and "
        "Relief Center (KSrelief) pays for them."
    )
    assert ("ORG", "Sindh Irrigation, Drainage and Water Management Authority") in found
    assert ("ORG", "King Salman Humanitarian Aid and Relief Center") in found
    assert not any(name in ("Relief Center", "Drainage") for _, name in found)


def test_an_organisation_that_lists_its_fields_is_one_name():
    found = entities(
        "RIYADH: The Ministry of Municipal, Rural Affairs and Housing opened 40 new parks."
    )
    assert ("ORG", "Ministry of Municipal, Rural Affairs and Housing") in found
    assert ("ORG", "Housing") not in found


def test_coordinated_places_are_two_places():
    found = entities(
        "Saudi Arabia and the United Arab Emirates will fund the plants, officials said.",
        "Fireworks lit up Tabuk and Arar on Friday night.",
    )
    assert {("GPE", "Saudi Arabia"), ("GPE", "United Arab Emirates")} <= found
    assert {("GPE", "Tabuk"), ("GPE", "Arar")} <= found


def test_a_town_the_model_calls_a_person_is_a_place_of_the_article_s_country():
    found = entities(
        "LAHORE: Police in Pakistan’s Punjab arrested three men in Toba Tek Singh on Monday."
    )
    assert ("GPE", "Toba Tek Singh") in found


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Workers across the Gulf sent money home.", ("LOC", "Gulf")),
        ("Talks on the Middle East resumed in Cairo.", ("LOC", "Middle East")),
        ("He spoke about the values of Islam at the forum.", ("NORP", "Islam")),
        ("Crowds gathered for Eid Al-Fitr prayers in Karachi.", ("EVENT", "Eid Al-Fitr")),
    ],
)
def test_regions_faiths_and_festivals_have_their_kind(sentence, expected):
    assert expected in entities(sentence)


def test_a_word_cut_by_the_end_of_a_truncated_page_is_no_entity_nor_figure():
    table, mentions, _ = enrich(
        "ISLAMABAD: Pakistan signed the accord with Qatar on Monday.",
        "The minister will then travel to Riyadh and Jedd",
    )
    names = {table.name_of(m["entity_id"]) for m in mentions}
    assert {"Pakistan", "Qatar", "Riyadh"} <= names and not any(n.startswith("Jedd") for n in names)


def test_figures_stop_before_a_cut_word():
    # The page stops inside the last number ("45" of "450"): that number is no figure.
    text = "The fund grew by 12 percent this year, and its staff rose to 45"
    srcs = [Source(ARTICLE_ID, 1, "paragraph", 1, text, "d", 1)]
    analyses = analyse_texts([text])
    assert 45.0 in [f.value for f in analyses[text].figures]  # the analysis reads it
    assert [r["value"] for r in figure_rows(srcs, analyses)] == [12.0]


@pytest.mark.parametrize(
    ("name", "context", "expected"),
    [
        ("Hafr Al-Batin", {"SA"}, "Hafar Al-Batin"),  # another transliteration of the city
        ("Al-Qassim", {"SA"}, "SA-05"),  # "Al Qaşīm"
        ("Eastern Province", {"SA"}, "SA-04"),  # the name Saudi news gives Ash Sharqīyah
        ("Eastern Province", {"LK"}, "LK-5"),  # ... and Sri Lanka's own
        ("Hafr Al-Batin", set(), None),  # a variant spelling needs its country in the article
        ("Dir", {"PK"}, None),  # a short skeleton ("dr") matches nothing
    ],
)
def test_spellings_of_a_place_resolve_where_the_article_names_its_country(name, context, expected):
    place = default_gazetteer().resolve(name, frozenset(context))
    found = place and (place.subdivision_code if place.kind == "subdivision" else place.name)
    assert found == expected


def test_festivals_the_model_read_whole_stay_and_islands_are_no_festivals():
    found = entities("Millions marked Eid Al-Adha, Christmas Day and Easter Sunday this year.")
    assert {
        ("EVENT", "Eid Al-Adha"),
        ("EVENT", "Christmas Day"),
        ("EVENT", "Easter Sunday"),
    } <= found
    # The festival rule itself: "Christmas Island" is a place, "Christmas Day" a holiday.
    assert kinds.festival_spans("Flights to Christmas Island resumed on Monday.") == []
    assert kinds.is_festival("Christmas Day") and not kinds.is_festival("Easter Island")


def test_a_person_named_like_a_faith_stays_a_person():
    found = entities("Egyptian striker Islam Issa scored twice.", "Islam said he was happy.")
    assert ("NORP", "Islam") not in found and ("PERSON", "Islam Issa") in found
