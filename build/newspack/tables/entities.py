"""Stage 6, enrich (entities): each article's mentions, and the entities table of the corpus.

Each article's mentions are canonicalised with its own context (canonical.py), which is all
canonicalisation needs (short forms never join names across articles): article_entities
depends on the article alone, so articles are enriched in any order, on any worker. Entities
are one per (type, canonical name) across the corpus, with a stable ID (ids.py); their
corpus-wide columns (name, aliases, counts, place) are a DuckDB query over what every
article recorded (ENTITIES_QUERY over the internal tables ENTITY_TABLES), out of core:
an entity is named by its first mention in reading order, and placed by the last article
in reading order that resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import duckdb
import pyarrow as pa

from newspack.ingest.sources import SOURCE_KINDS, Source
from newspack.tables import places
from newspack.tables.canonical import Mention, canonicalise, find_mentions
from newspack.tables.frames import row_from
from newspack.tables.ids import entity_id_for

# An article names a few entities many times; a worker enriches many articles of the same
# entities: their IDs (a hash each) are kept for the most recent names.
_entity_id = lru_cache(maxsize=2**14)(entity_id_for)

# What each article records for the entities table: every mention's name and surface with
# its place in reading order, and the places the article resolved. Internal: never published.
ENTITY_TABLES = {
    "entity_names": pa.schema(
        [
            ("entity_id", pa.string()),
            ("entity_type", pa.string()),
            ("name", pa.string()),
            ("surface", pa.string()),
            ("article_id", pa.string()),
            ("kind_order", pa.int64()),  # with article_id, version, position, mention_index:
            ("version", pa.int64()),  # ingest.sources.reading_order of the mention
            ("source_position", pa.int64()),
            ("mention_index", pa.int64()),
        ]
    ),
    "entity_places": pa.schema(
        [
            ("entity_type", pa.string()),
            ("name", pa.string()),
            ("kind_order", pa.int64()),  # of the article's first mention
            ("article_id", pa.string()),
            ("place_kind", pa.string()),
            ("country_code", pa.string()),
            ("subdivision_code", pa.string()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
        ]
    ),
}

# The entities table from ENTITY_TABLES (columns in schemas/entities.yaml order).
ENTITIES_QUERY = """
WITH named AS (
    SELECT entity_id,
           first(name ORDER BY kind_order, article_id, version, source_position, mention_index)
               AS name,
           first(entity_type) AS entity_type,
           count(DISTINCT article_id) AS article_count,
           count(*) AS mention_count
    FROM entity_names GROUP BY entity_id
),
aliased AS (
    SELECT n.entity_id,
           string_agg(DISTINCT m.surface, '; ' ORDER BY m.surface)
               FILTER (WHERE m.surface <> n.name) AS aliases
    FROM named n JOIN entity_names m USING (entity_id) GROUP BY n.entity_id
),
placed AS (
    SELECT entity_type, name,
           arg_max(struct_pack(place_kind, country_code, subdivision_code, latitude, longitude),
                   struct_pack(kind_order, article_id)) AS place
    FROM entity_places GROUP BY entity_type, name
)
SELECT n.entity_id, n.name, n.entity_type, a.aliases, n.article_count, n.mention_count,
       p.place.place_kind AS place_kind, p.place.country_code AS country_code,
       p.place.subdivision_code AS subdivision_code, p.place.latitude AS latitude,
       p.place.longitude AS longitude
FROM named n JOIN aliased a USING (entity_id)
LEFT JOIN placed p ON p.entity_type = n.entity_type AND p.name = n.name
"""


def _mention_row(entity_id: str, m: Mention) -> dict:
    return row_from(
        "mentions",
        m,
        entity_id=entity_id,
        **m.src.placement(),
        model_label=m.label,
        name_rule=m.rule,
    )


def _place_columns(place: places.Place) -> dict:
    return {
        "place_kind": place.kind,
        "country_code": place.country_code,
        "subdivision_code": place.subdivision_code,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }


@dataclass
class ArticleEntities:
    """One article's entities: its mention rows, the canonical name and type of each of its
    entities, the places its context resolved, and its rows of ENTITY_TABLES."""

    gazetteer: places.Gazetteer
    mention_rows: list[dict] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # entity_id -> name in this article
    types: dict[str, str] = field(default_factory=dict)  # entity_id -> type
    places: dict[str, places.Place] = field(default_factory=dict)  # entity_id -> place
    internal_rows: dict[str, list[dict]] = field(
        default_factory=lambda: {table: [] for table in ENTITY_TABLES}
    )

    def name_of(self, entity_id: str) -> str:
        return self.names[entity_id]

    def type_of(self, entity_id: str) -> str:
        return self.types[entity_id]


def article_entities(
    src_list: list[Source], analyses: dict, dateline_city, gazetteer: places.Gazetteer
) -> ArticleEntities:
    """Canonicalise one article's mentions (src_list: its versions' texts in reading order)."""
    found = ArticleEntities(gazetteer)
    mentions = find_mentions(src_list, analyses)
    if not src_list:
        return found
    article_id = src_list[0].article_id
    placed = canonicalise(mentions, {article_id: dateline_city}, gazetteer)
    found.places = {entity_id_for(kind, name): place for (kind, name), place in placed.items()}
    if not mentions:
        return found
    # The article's place in reading order: where its first mention is read.
    kind_order = SOURCE_KINDS.index(mentions[0].src.source)
    found.internal_rows["entity_places"] = [
        {"entity_type": kind, "name": name, "kind_order": kind_order, "article_id": article_id}
        | _place_columns(place)
        for (kind, name), place in placed.items()
    ]
    for i, m in enumerate(mentions):
        entity_id = _entity_id(m.type, m.name)
        found.names.setdefault(entity_id, m.name)
        found.types[entity_id] = m.type
        found.mention_rows.append(_mention_row(entity_id, m))
        found.internal_rows["entity_names"].append(
            {
                "entity_id": entity_id,
                "entity_type": m.type,
                "name": m.name,
                "surface": m.surface,
                "article_id": article_id,
                "kind_order": SOURCE_KINDS.index(m.src.source),
                "version": m.src.version,
                "source_position": m.src.position,
                "mention_index": i,
            }
        )
    return found


def corpus_entities(articles: list[dict[str, list[dict]]]) -> list[dict]:
    """The entities table's rows of some articles held in memory, from each article's rows
    of ENTITY_TABLES (ArticleEntities.internal_rows) by ENTITIES_QUERY, as the build runs it
    over the corpus's Parquet parts."""
    con = duckdb.connect()
    for table, schema in ENTITY_TABLES.items():
        rows = [row for article in articles for row in article[table]]
        con.register(table, pa.Table.from_pylist(rows, schema=schema))
    found = con.sql(ENTITIES_QUERY).to_arrow_table().to_pylist()
    con.close()
    return found
