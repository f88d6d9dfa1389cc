"""Quote attribution (tables/quotes.py, speakers.py, nlp/attribution.py) on articles written
for these tests, one class of attribution each, run through the real model and the real
per-article enrichment (the entities of the article, then its quotations)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles import attribute
from newspack.tables.quotes import _attributions, _speech_verbs, may_end_with_cue, quotations


def speakers(rows: list[dict]) -> list[tuple]:
    return [(r["speaker"], r["speaker_rule"]) for r in rows]


def test_apposition_after_the_verb_gives_the_person_and_the_role():
    rows = attribute(
        "“The two countries share a long history of friendship,” said Raja Ali Ejaz, "
        "Pakistan’s ambassador to Saudi Arabia."
    )
    assert speakers(rows) == [("Raja Ali Ejaz", "parse_subject")]
    assert rows[0]["speaker_role"] == "Pakistan’s ambassador to Saudi Arabia"
    assert rows[0]["cue"] == "said" and rows[0]["speaker_entity_id"].startswith("ent_")


def test_a_surname_is_the_full_name_the_article_gave():
    rows = attribute(
        "ISLAMABAD: Prime Minister Shehbaz Sharif met business leaders on Monday.",
        "“Pakistan is open for business and we will remove every hurdle,” Sharif told them.",
    )
    assert speakers(rows) == [("Shehbaz Sharif", "parse_subject")]
    assert rows[0]["speaker_role"] == "Prime Minister" and rows[0]["cue"] == "told"


def test_a_description_is_the_person_who_holds_that_post():
    rows = attribute(
        "RIYADH: Saudi Ambassador Nawaf bin Said Al-Malki visited the Pakistani school.",
        "“Our doors remain open to every student who wants to learn,” the envoy told reporters.",
    )
    assert speakers(rows) == [("Nawaf bin Said Al-Malki", "role")]


def test_a_description_that_fits_no_one_gives_no_speaker():
    rows = attribute(
        "KARACHI: Heavy rain flooded several roads in the city on Tuesday.",
        "“We have never seen water rise this fast in our street,” the official said.",
    )
    assert speakers(rows) == [(None, None)]


def test_pronoun_and_colon_frame_continue_the_speaker():
    rows = attribute(
        "LAHORE: Punjab’s health minister Khawaja Salman Rafique told Arab News:",
        "“The hospitals have enough beds for the coming weeks and the staff are ready.”",
        "“We will keep watching the numbers every single day,” he added.",
    )
    assert [s for s, _ in speakers(rows)] == ["Khawaja Salman Rafique"] * 2
    assert [r for _, r in speakers(rows)] == ["continuation", "pronoun"]


def test_according_to_names_the_speaker():
    rows = attribute(
        "According to Mohammed Al-Jadaan, “the budget will keep growth above three percent.”"
    )
    assert speakers(rows) == [("Mohammed Al-Jadaan", "parse_subject")]
    assert rows[0]["cue"] == "according to"


def test_an_organisation_and_its_statement_speak():
    rows = attribute(
        "ISLAMABAD: The Ministry of Foreign Affairs summoned the envoy on Friday.",
        "“Such remarks are unacceptable and must be withdrawn,” the ministry said in a statement.",
        "“Pakistan expects its concerns to be addressed without delay,” the statement added.",
    )
    assert speakers(rows) == [
        ("Ministry of Foreign Affairs", "organisation"),
        ("Ministry of Foreign Affairs", "organisation"),
    ]


def test_an_unnamed_speaker_stays_empty():
    rows = attribute("“The water came in the middle of the night,” a resident said.")
    assert speakers(rows) == [(None, None)]


def test_a_title_names_its_speaker_after_a_dash():
    rows = attribute(
        "RIYADH: Saudi Ambassador Nawaf bin Said Al-Malki addressed the community event.",
        title="Saudi Arabia is ‘a second home for every Pakistani’ – Envoy",
    )
    assert speakers(rows) == [("Nawaf bin Said Al-Malki", "title")]
    assert rows[0]["source"] == "title" and rows[0]["cue"] == "dash"


@pytest.mark.parametrize(
    ("text", "quotation", "speaker"),
    [
        (
            "“Both countries can benefit from mutual experiences in the communications sector,” "
            "Khan said during the interaction.",
            "Both countries can benefit from mutual experiences in the communications sector,",
            "Khan",
        ),
        (
            "“Obviously, there has to be cooperation,” said Tarar, who was part of the delegation.",
            "Obviously, there has to be cooperation,",
            "Tarar",
        ),
        (
            "“Today marks the final day of the special anti-polio campaign,” the NEOC said in a "
            "statement.",
            "Today marks the final day of the special anti-polio campaign,",
            "NEOC",
        ),
        (
            "Tarar said “a lot of negotiations are going on.”",
            "a lot of negotiations are going on.",
            "Tarar",
        ),
        ("Tarar described the trip as “historic,” highlighting meetings.", None, None),
    ],
)
def test_quotes_and_speakers(text, quotation, speaker):
    found = attribute(text)
    if quotation is None:
        assert found == []  # too short to be a quotation: a scare quote
    else:
        assert [(r["quotation"], r["speaker"]) for r in found] == [(quotation, speaker)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "He called it “a turning point for the region” on Monday.",
            ["a turning point for the region"],
        ),
        ("The so-called “red zone” was closed.", []),  # two words: a name, not a quotation
        ("“The talks were open and frank,” she said.", ["The talks were open and frank,"]),
    ],
)
def test_quotations_are_three_words_or_more(text, expected):
    assert [text[q.start : q.end] for q in quotations(text)] == expected


@pytest.mark.parametrize(
    "paragraphs",
    [
        # The quotation ends its sentence: the next sentence's subject did not say it.
        (
            "The army said its troops had cleared “dozens of hideouts in the area.” The "
            "provincial health department said 40 people were treated.",
        ),
        # Someone the article does not name, or someone speaking for the person named.
        (
            "ISLAMABAD: Interior Minister Mohsin Naqvi met police chiefs.",
            "“We have arrested dozens of suspects,” an official said.",
        ),
        ("“The verdict will be challenged in every court,” Imran Khan’s lawyer told reporters.",),
        ("“We want the truth and nothing less,” said the family of Jamal Khashoggi.",),
        # "They" is as often residents as an organisation.
        ("The UN said aid trucks were blocked.", "“We had nowhere to go at all,” they said."),
        # A quoted title of a work is no speech.
        ("Netflix announced “The Kingdom of Sand and Stars” for next year.",),
    ],
)
def test_no_speaker_is_better_than_a_wrong_one(paragraphs):
    assert [r["speaker"] for r in attribute(*paragraphs)] == [None]


def test_a_new_speaker_after_a_quotation_is_the_one_a_colon_frame_continues():
    rows = attribute(
        "“We will rebuild the city,” said Sharjeel Memon. Karachi mayor Murtaza Wahab told "
        "Arab News:",
        "“The drains will be cleaned before the monsoon reaches the coast.”",
    )
    assert [r["speaker"] for r in rows] == ["Sharjeel Memon", "Murtaza Wahab"]


# Pieces of the text before a quotation, as "X said:" ends it and as other texts end.
_HEAD_PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\u00a0",
        ":",
        ",",
        ".",
        "that",
        "the",
        "Sharif",
        "Dr.",
        "al-Amin",
        "’s",
        "“",
        "”",
    ]
)


_CUE_ENDINGS = st.tuples(
    st.sampled_from(["", " ", "Sharif ", "the envoy "]),
    st.sampled_from(_speech_verbs()),
    st.sampled_from(["", " that", "  that", "that", "\nthat"]),
    st.lists(st.sampled_from([" ", ":", ",", "\u00a0", "\n"]), max_size=3).map("".join),
).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(_HEAD_PIECES, st.sampled_from(_speech_verbs())), max_size=8), _CUE_ENDINGS
)
def test_the_quick_test_of_a_cue_before_a_quotation_misses_none_the_pattern_finds(pieces, ending):
    for head in ("".join(pieces), "".join(pieces) + ending):
        if _attributions()["before"].search(head):
            assert may_end_with_cue(head), head


def test_the_quick_test_of_a_cue_before_a_quotation_turns_away_other_texts():
    assert _attributions()["before"].search("Prime Minister Shehbaz Sharif said that :")
    assert may_end_with_cue("Prime Minister Shehbaz Sharif said that :")
    assert not may_end_with_cue("The minister spoke at length about the floods.")
