"""Stage 6, enrich (entities): the entities and mentions tables, article by article.

Each article's mentions are canonicalised with its own context (canonical.py); entities are
then one per (type, canonical name) across the corpus, with a stable ID (ids.py), named by
their first mention in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newspack.ingest.sources import SOURCE_KINDS, Source, reading_order
from newspack.tables import places
from newspack.tables.canonical import Mention, canonicalise, find_mentions
from newspack.tables.frames import row_from
from newspack.tables.ids import entity_id_for


def _mention_row(entity_id: str, m: Mention) -> dict:
    return row_from(
        "mentions",
        m,
        entity_id=entity_id,
        **m.src.placement(),
        model_label=m.label,
        name_rule=m.rule,
    )


def _place_columns(place: places.Place | None) -> dict:
    return {
        "place_kind": place.kind if place else None,
        "country_code": place.country_code if place else None,
        "subdivision_code": place.subdivision_code if place else None,
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
    }


@dataclass
class _Entity:
    name_order: tuple  # reading order of the mention that named it
    name: str
    entity_type: str
    aliases: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    mention_count: int = 0


class EntityTable:
    """The entities table, gathered article by article, in any order of articles.

    Where articles disagree, the result is what reading every mention in reading order
    gives: an entity is named by its first mention, and a place by the last article that
    resolves it.
    """

    def __init__(self, gazetteer: places.Gazetteer | None = None):
        self.gazetteer = gazetteer or places.default_gazetteer()
        self._entities: dict[str, _Entity] = {}
        self._places: dict[tuple[str, str], tuple[tuple, places.Place | None]] = {}
        # Each article's own places (entity_id -> place), as its context resolved them, kept
        # until the focus stage takes them (article_places): the corpus-wide place of an
        # entity is settled only once every article is read.
        self._article_places: dict[str, dict[str, places.Place]] = {}

    def add_article(self, src_list: list[Source], analyses: dict, dateline_city) -> list[dict]:
        """Canonicalise one article's mentions (src_list in reading order); its mention rows."""
        mentions = find_mentions(src_list, analyses)
        article_id = src_list[0].article_id
        placed = canonicalise(mentions, {article_id: dateline_city}, self.gazetteer)
        self._article_places[article_id] = {
            entity_id_for(kind, name): place
            for (kind, name), place in placed.items()
            if place is not None
        }
        if not mentions:
            return []
        # The article's place in reading order: where its first mention is read.
        article_order = (SOURCE_KINDS.index(mentions[0].src.source), article_id)
        for key, place in placed.items():
            if key not in self._places or self._places[key][0] <= article_order:
                self._places[key] = (article_order, place)
        rows = []
        for i, m in enumerate(mentions):
            entity_id = entity_id_for(m.type, m.name)
            order = (*reading_order(m.src), i)
            entity = self._entities.setdefault(entity_id, _Entity(order, m.name, m.type))
            if order < entity.name_order:
                entity.name_order, entity.name = order, m.name
            entity.aliases.add(m.surface)
            entity.articles.add(article_id)
            entity.mention_count += 1
            rows.append(_mention_row(entity_id, m))
        return rows

    def article_places(self, article_id: str) -> dict[str, places.Place]:
        """The places of an article's entities as resolved in that article (entity_id ->
        place), handed over once: the table keeps no article's after it is taken."""
        return self._article_places.pop(article_id, {})

    def name_of(self, entity_id: str) -> str:
        return self._entities[entity_id].name

    def type_of(self, entity_id: str) -> str:
        return self._entities[entity_id].entity_type

    def rows(self) -> list[dict]:
        return [
            {
                "entity_id": entity_id,
                "name": e.name,
                "entity_type": e.entity_type,
                "aliases": "; ".join(sorted(e.aliases - {e.name})) or None,
                "article_count": len(e.articles),
                "mention_count": e.mention_count,
                **_place_columns(self._places.get((e.entity_type, e.name), (None, None))[1]),
            }
            for entity_id, e in self._entities.items()
        ]
