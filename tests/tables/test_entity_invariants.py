"""Canonicalisation invariants (issue "Entities and figures that hold on text the rules were
not written from"): one misread never poisons other articles, people who share a name part
stay apart, and adding unrelated articles changes no existing entity.

The model's labels are given here (as SpanFound), not predicted, so that each test states
the misread it guards against, whatever the model does with the text today.
"""

from __future__ import annotations

import random
from itertools import pairwise

from newspack.ingest.sources import Source
from newspack.nlp.analyse import TextAnalysis
from newspack.nlp.spans import SpanFound
from newspack.tables.entities import ArticleEntities, article_entities, corpus_entities
from newspack.tables.places import default_gazetteer


def _article(article_id: str, texts: list[str], labels: dict[str, str]) -> tuple[list, dict]:
    """Sources of one article (its paragraphs) and analyses giving `labels` to the names."""
    sources = [
        Source(article_id, 1, "paragraph", i, text, "001_a", i) for i, text in enumerate(texts, 1)
    ]
    analyses = {}
    for text in texts:
        spans = []
        for name, label in labels.items():
            start = text.find(name)
            while start >= 0:
                inside = any(s.start <= start < s.end for s in spans)
                if not inside:
                    spans.append(SpanFound(start, start + len(name), label, text))
                start = text.find(name, start + len(name))
        analyses[text] = TextAnalysis(tuple(spans), ())
    return sources, analyses


class _Corpus:
    """Articles enriched one by one, and the entities table of all of them."""

    def __init__(self):
        self.articles: list[ArticleEntities] = []

    def add_article(self, sources, analyses, dateline) -> list[dict]:
        self.articles.append(article_entities(sources, analyses, dateline, default_gazetteer()))
        return self.articles[-1].mention_rows

    def rows(self) -> list[dict]:
        return corpus_entities([a.internal_rows for a in self.articles])


def _entities(table: _Corpus, rows: list[dict]) -> dict[str, tuple[str, str]]:
    """surface -> (type, name) of the entity each mention was given."""
    by_id = {e["entity_id"]: (e["entity_type"], e["name"]) for e in table.rows()}
    return {r["surface"]: by_id[r["entity_id"]] for r in rows}


MISREAD = (
    "a1",
    ["KSRelief Pakistan delivered food to Sindh.", "Pakistan thanked the centre."],
    {"KSRelief Pakistan": "PERSON", "Pakistan": "GPE", "Sindh": "GPE"},
)
OTHER = (
    "a2",
    ["Pakistan and China signed a deal in Beijing.", "Officials in Pakistan welcomed it."],
    {"Pakistan": "GPE", "China": "GPE", "Beijing": "GPE"},
)


def test_a_misread_person_does_not_swallow_a_country():
    table = _Corpus()
    rows_misread = table.add_article(*_article(*MISREAD), None)
    rows_other = table.add_article(*_article(*OTHER), None)
    assert _entities(table, rows_misread)["Pakistan"] == ("GPE", "Pakistan")
    assert _entities(table, rows_other)["Pakistan"] == ("GPE", "Pakistan")


def test_people_sharing_a_name_in_different_articles_stay_apart():
    cricket = _article(
        "c1",
        ["Salman Agha hit a fifty for Pakistan.", "Salman said the pitch was slow."],
        {"Salman Agha": "PERSON", "Salman": "PERSON", "Pakistan": "GPE"},
    )
    royal = _article(
        "r1",
        ["Crown Prince Mohammed bin Salman met the envoy.", "Salman welcomed the visit."],
        {"Mohammed bin Salman": "PERSON", "Salman": "PERSON"},
    )
    table = _Corpus()
    in_cricket = _entities(table, table.add_article(*cricket, None))
    in_royal = _entities(table, table.add_article(*royal, None))
    assert in_cricket["Salman"] == ("PERSON", "Salman Agha")
    # "Salman" in "bin Salman" is the father's name: it never stands for the son.
    assert in_royal["Salman"] != ("PERSON", "Mohammed bin Salman")
    assert in_royal["Salman"] != in_cricket["Salman"]


def test_unrelated_articles_change_no_existing_entity():
    base = [MISREAD, OTHER]
    names = ["Imran Khan", "Khan", "Lahore", "Karachi", "Amnesty International", "Amnesty"]
    labels = ["PERSON", "PERSON", "GPE", "GPE", "ORG", "ORG"]
    rng = random.Random(7)
    noise = []
    for i in range(300):
        picked = rng.sample(range(len(names)), 3)
        texts = [f"{names[j]} spoke on day {i} about {names[k]}." for j, k in pairwise(picked)]
        noise.append((f"n{i:03}", texts, {names[j]: labels[j] for j in picked}))

    def entity_rows(articles):
        table = _Corpus()
        rows = [r for a in articles for r in table.add_article(*_article(*a), None)]
        ids = {r["entity_id"] for r in rows if r["article_id"] in {"a1", "a2"}}
        return {e["entity_id"]: e for e in table.rows() if e["entity_id"] in ids}, rows

    alone, alone_rows = entity_rows(base)
    crowded, crowded_rows = entity_rows(base + noise)
    keep = ("entity_id", "name", "entity_type")
    assert {i: tuple(e[k] for k in keep) for i, e in alone.items()} == {
        i: tuple(e[k] for k in keep) for i, e in crowded.items()
    }
    mine = [r for r in crowded_rows if r["article_id"] in {"a1", "a2"}]
    assert mine == alone_rows
