"""Enrich stage, figures and quotes: normalisation rules on real sentences, scores on the dumps
(quote attribution rules: tests/tables/test_quotes.py)."""

from __future__ import annotations

import pytest

from newspack.dev.evaluate import figure_pairs, load_figure_gold, score_figures
from newspack.nlp.figures import extract
from newspack.nlp.model import load_model
from newspack.tables.frames import records


def _figures(text: str):
    return [
        (f.text, f.value, f.kind, f.unit, f.qualifier) for f in extract(text, load_model()(text))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Pakistan vaccinates over 19.3 million children as anti-polio drive concludes",
            [("19.3 million", 19_300_000, "count", "children", "more than")],
        ),
        (
            "UN allocates $5 million to bolster Pakistan’s flood relief efforts",
            [("$5 million", 5_000_000, "money", "USD", None)],
        ),
        (
            "at least 922 people have been killed and 1,047 injured in rain-related incidents",
            [("922", 922, "count", "people", "at least"), ("1,047", 1047, "count", "people", None)],
        ),
        (
            "a bombing in Karachi that killed two Chinese engineers last year",
            [("two", 2, "count", "engineers", None)],
        ),
        (
            "as the nine-day anti-polio nationwide drive concludes today",
            [("nine-day", 9, "quantity", "days", None)],
        ),
        (
            "affected over four million people since late August",
            [("four million", 4_000_000, "count", "people", "more than")],
        ),
        (
            "a $2 billion upgrade of a 500-km stretch of the ML-1 railway line",
            [("$2 billion", 2e9, "money", "USD", None), ("500-km", 500, "quantity", "km", None)],
        ),
        (
            "the provincial government released Rs 5 crore for relief",
            [("Rs 5 crore", 50_000_000, "money", "PKR", None)],
        ),
        (
            "a grant of 3 lakh rupees was announced",
            [("3 lakh rupees", 300_000, "money", "PKR", None)],
        ),
    ],
)
def test_figures_are_normalised(text, expected):
    assert _figures(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Pakistani health authorities have vaccinated children since Sept. 1, the NEOC said",
        "It reported an alarming rise in 2024 and since the 1990s",
        "a firewall known as WMS 2.0 inspects Internet traffic",
        "the ML-1 railway line from Karachi",
        "the joint ministerial commission’s 16th meeting was co-chaired",
        "between the two countries and the two sides",
        "thousands of Chinese workers in Pakistan",
        "Chinese President Xi Jinping on September 2, 2025, met him at 10:30",
    ],
)
def test_years_dates_ordinals_versions_and_references_are_not_figures(text):
    assert _figures(text) == []


def test_from_to_links_a_change():
    text = (
        "the two countries finalized a landmark trade agreement that significantly reduced "
        "reciprocal tariffs — from around 29 percent down to 19 percent — on key exports"
    )
    found = extract(text, load_model()(text))
    assert [(f.value, f.relation, f.qualifier) for f in found] == [
        (29, "from", "about"),
        (19, "to", None),
    ]
    assert (found[0].related, found[1].related) == (1, 0)


def test_a_lone_from_marks_the_start_of_a_change():
    text = (
        "This was a sharp rise in infections from six cases in 2023 and just one in 2021, "
        "highlighting the challenge of eradication."
    )
    found = extract(text, load_model()(text))
    assert [(f.value, f.unit, f.relation, f.related) for f in found] == [(6, "cases", "from", None)]


def test_figures_f1_and_every_money_and_percent_figure(tables):
    gold = load_figure_gold()
    found = figure_pairs(records(tables["figures"]))
    result = score_figures(gold, found)
    assert result.f1 >= 0.90, (result.false_positives, result.false_negatives)
    for article_id, expected in gold.items():
        for value, units in expected:
            if units & {"USD", "PKR", "percent"}:
                assert any(v == value and u in units for v, u in found[article_id]), (
                    article_id,
                    value,
                    units,
                )


def test_figure_rows_carry_their_sentence_and_source(tables):
    figures = tables["figures"]
    row = figures[(figures["surface"] == "$600,000") & (figures["source"] == "bullet")].iloc[0]
    assert row["sentence"].startswith("UN released $600,000 in emergency relief funds")
    assert (row["figure_kind"], row["unit"], row["value"]) == ("money", "USD", 600_000)


def test_quotes_link_speakers_to_entities(tables):
    quotes, entities = tables["quotes"], tables["entities"].set_index("entity_id")
    linked = quotes[quotes["speaker_entity_id"].notna()]
    names = {entities.at[e, "name"] for e in linked["speaker_entity_id"]}
    assert {
        "Attaullah Tarar",
        "Abdul Aleem Khan",
        "Stéphane Dujarric",
        "Michael Kugelman",
        "National Emergency Operations Center",
    } <= names
    he_added = quotes[quotes["quotation"].str.startswith("Trade corridors and better transport")]
    # "he added" after Khan's quote: the full name the article gives him
    assert set(he_added["speaker"]) == {"Abdul Aleem Khan"}
    assert set(he_added["speaker_rule"]) == {"pronoun"}


def test_reading_windows_around_numbers_finds_what_whole_sentences_give(tables, monkeypatch):
    """quantulum3 reads only the stretches around numbers (for speed): on every text of the
    dumps that gives the figures reading each whole sentence gives."""
    from newspack.ingest.sources import sources
    from newspack.nlp import figures

    texts = list(dict.fromkeys(s.text for s in sources(tables)))
    docs = list(load_model().pipe(texts))
    windowed = [extract(text, doc) for text, doc in zip(texts, docs, strict=True)]
    monkeypatch.setattr(figures, "_windows", lambda sentence: [(0, len(sentence))])
    whole = [extract(text, doc) for text, doc in zip(texts, docs, strict=True)]
    assert windowed == whole
    assert sum(map(len, windowed)) >= 50  # the dumps state dozens of figures


def test_windows_skip_years_and_days_of_dates_and_keep_whole_words():
    from newspack.nlp.figures import _windows

    sentence = "On September 9, 2025, the UN gave $5 million to 1,200 villages in Sindh."
    windows = _windows(sentence)
    read = " ".join(sentence[a:b] for a, b in windows)
    assert "$5 million" in read and "1,200 villages" in read
    assert all(b == len(sentence) or sentence[b] == " " for _, b in windows)
    assert all(a == 0 or sentence[a - 1] == " " for a, _ in windows)
    assert _windows("The deal was signed on 9 September 2025.") == []
