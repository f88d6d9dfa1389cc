"""Articles written in a test, run through the real per-article path: the model's analysis
of each text (nlp/analyse.py), then the article's entities (tables/entities.py), quotes
(tables/quotes.py) and focus (tables/focus.py), as the build does for each article once its
versions are gathered."""

from __future__ import annotations

from newspack.ingest.sources import Source
from newspack.nlp.analyse import analyse_texts
from newspack.tables.entities import ArticleEntities, article_entities
from newspack.tables.focus import article_focus
from newspack.tables.places import default_gazetteer
from newspack.tables.quotes import quote_rows

ARTICLE_ID = "art_0000000000000001"


def sources(paragraphs, title: str | None = None, bullets: tuple[str, ...] = ()) -> list[Source]:
    """The texts of one article version: title, bullets and body paragraphs."""
    srcs = [Source(ARTICLE_ID, 1, "title", 1, title, "d", 1)] if title else []
    srcs += [Source(ARTICLE_ID, 1, "bullet", i, t, "d", 2 + i) for i, t in enumerate(bullets, 1)]
    srcs += [
        Source(ARTICLE_ID, 1, "paragraph", i, text, "d", 10 + i)
        for i, text in enumerate(paragraphs, start=1)
    ]
    return srcs


def enrich(*paragraphs: str, title: str | None = None) -> tuple[ArticleEntities, list, list]:
    """(the article's entities, mention rows, quote rows) of one article of these body
    paragraphs."""
    srcs = sources(paragraphs, title)
    analyses = analyse_texts(s.text for s in srcs)
    entities = article_entities(srcs, analyses, None, default_gazetteer())
    mentions = entities.mention_rows
    return entities, mentions, quote_rows(srcs, analyses, mentions, entities)


def attribute(*paragraphs: str, title: str | None = None) -> list[dict]:
    """The quotes rows of one article made of these body paragraphs (and title)."""
    return enrich(*paragraphs, title=title)[2]


def people(*paragraphs: str) -> set[str]:
    """The canonical names of the persons of one article."""
    table, mentions, _ = enrich(*paragraphs)
    return {
        table.name_of(m["entity_id"]) for m in mentions if table.type_of(m["entity_id"]) == "PERSON"
    }


def focus(
    *paragraphs: str,
    title: str | None = None,
    bullets: tuple[str, ...] = (),
    dateline: str | None = None,
) -> list[dict]:
    """The article_focus rows of one article (title, bullets, body paragraphs, dateline city),
    with the entity's name of each place as "place"."""
    srcs = sources(paragraphs, title, bullets)
    analyses = analyse_texts(s.text for s in srcs)
    entities = article_entities(srcs, analyses, dateline, default_gazetteer())
    rows = article_focus(entities, srcs, dateline)
    for row in rows:
        row["place"] = entities.name_of(row["place_entity_id"]) if row["place_entity_id"] else None
    return rows
