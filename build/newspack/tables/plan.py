"""Stage 5, identify (the plan): which article and version every parsed version is, in DuckDB.

Pass 1 of a build (tables/assemble.py) hands each dump's identity keys (ingest/keys.py) here,
dump by dump; they go to a DuckDB database (a file in the build's scratch
folder, or in memory for a small corpus) a chunk at a time, and the plan is a few queries
over them, so the building machine holds neither the keys nor the plan, however large the
corpus (DuckDB spills to disk beyond its memory limit):

- a *sighting* is one parsed version, numbered in crawl order (dumps in crawl order, the
  versions of a dump in reading order);
- sightings that share a title or lead key are one story: connected components, found by
  giving every sighting the smallest number of any sighting it is linked to, again and
  again until nothing changes (each round follows one more link of a chain);
- a story's article_id hashes the title of its first sighting (ids.article_id_for), so
  adding later dumps never changes an ID;
- renderings with identical content are one version, numbered by first sighting; a
  sighting that repeats an earlier version's content is a duplicate; the latest version is
  canonical, and its dump is the last one the article needs.

Pass 2 then reads every sighting's Placement back in the same order, a dump at a time
(IdentityPlan.placements_of).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from newspack.ingest.keys import DumpKeys
from newspack.tables.corpus import scalar
from newspack.tables.ids import article_id_for

SIGHTINGS = pa.schema(
    [
        ("dump", pa.int64()),  # the dump's place in the input, not yet in crawl order
        ("dump_id", pa.string()),
        ("version_index", pa.int64()),
        ("title", pa.string()),
        ("content_sha256", pa.string()),
    ]
)
KEYS = pa.schema([("dump", pa.int64()), ("version_index", pa.int64()), ("key", pa.string())])
DUMP_RANKS = pa.schema([("dump", pa.int64()), ("crawl_rank", pa.int64())])
CHUNK_SIGHTINGS = 50_000  # sightings held before they go to DuckDB
READ_ROWS = 50_000  # placements read back at a time

# One round of the components: every key takes the smallest story of its sightings, and
# every sighting the smallest story of its keys (or keeps its own).
_LINK_ROUND = """
CREATE OR REPLACE TABLE next_story AS
WITH key_story AS (
    SELECT k.key, min(s.story) AS story
    FROM sighting_keys k JOIN story s USING (sighting) GROUP BY k.key
)
SELECT s.sighting, least(s.story, coalesce(min(ks.story), s.story)) AS story
FROM story s
LEFT JOIN sighting_keys k USING (sighting)
LEFT JOIN key_story ks USING (key)
GROUP BY s.sighting, s.story
"""
_CHANGED = (
    "SELECT count(*) FROM next_story n JOIN story s USING (sighting) WHERE n.story <> s.story"
)

# Sightings numbered in crawl order, with their keys.
_NUMBERED = """
CREATE TABLE sightings AS
SELECT row_number() OVER (ORDER BY r.crawl_rank, s.version_index) AS sighting, s.*
FROM input_sightings s JOIN dump_ranks r USING (dump);
CREATE TABLE sighting_keys AS
SELECT s.sighting, k.key FROM input_keys k JOIN sightings s USING (dump, version_index);
"""

_PLACEMENTS = """
CREATE TABLE placements AS
WITH located AS (
    SELECT s.*, st.story,
        min(s.sighting) OVER (PARTITION BY st.story, s.content_sha256) AS first_of_content
    FROM sightings s JOIN story st USING (sighting)
),
numbered AS (
    SELECT *,
        dense_rank() OVER (PARTITION BY story ORDER BY first_of_content) AS version,
        sighting <> first_of_content AS duplicate
    FROM located
),
articles AS (
    SELECT story,
        newspack_article_id(arg_min(title, sighting)) AS article_id,
        arg_min(dump_id, sighting) AS first_dump_id,
        max(version) AS version_count,
        arg_max(dump_id, version) FILTER (WHERE NOT duplicate) AS last_dump_id
    FROM numbered GROUP BY story
)
SELECT n.sighting, n.dump_id, n.version_index, a.article_id, n.version, n.duplicate,
    NOT n.duplicate AND n.version = a.version_count AS canonical,
    a.version_count, a.first_dump_id, a.last_dump_id
FROM numbered n JOIN articles a USING (story)
"""
_READ = """
SELECT dump_id, version_index, article_id, version, duplicate, canonical, version_count,
    first_dump_id, last_dump_id
FROM placements ORDER BY sighting
"""


@dataclass(frozen=True)
class Placement:
    """Where a parsed version goes: its article and version number, whether it only repeats
    an earlier version (duplicate) or is the article's latest (canonical), and what the
    article's row needs: how many versions it has, the dump of its first sighting and the
    dump of its canonical version (after which the article is complete)."""

    article_id: str
    version: int
    duplicate: bool
    canonical: bool
    version_count: int
    first_dump_id: str
    last_dump_id: str


class IdentityPlan:
    """Every sighting's Placement, planned in DuckDB (plan_identity) and read back dump by
    dump in crawl order (dumps()): placements_of each dump in turn, then close()."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, article_count: int, order: list[tuple[int, str]]
    ):
        self._con = con
        self.article_count = article_count
        self._order = order  # the planned dumps (place in the input, ID), in crawl order
        self._rows = self._read()
        self._next: tuple | None = next(self._rows, None)

    def _read(self) -> Iterator[tuple]:
        reader = self._con.sql(_READ).to_arrow_reader(READ_ROWS)
        for batch in reader:
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    def dumps(self) -> list[tuple[int, str]]:
        """The planned dumps (place in the input, dump ID), in crawl order."""
        return list(self._order)

    def placements_of(self, dump_id: str) -> list[Placement]:
        """The placements of the next dump's versions, in their order in the dump: dumps
        are read back in the order dumps() gives (out of it, a dump gets none, which
        identify.dump_rows refuses)."""
        found = []
        while self._next is not None and self._next[0] == dump_id:
            found.append(Placement(*self._next[2:]))
            self._next = next(self._rows, None)
        return found

    def close(self) -> None:
        self._rows.close()
        self._con.close()


def plan_identity(
    dumps: Iterable[DumpKeys], database: Path | None = None, memory_limit: str | None = None
) -> IdentityPlan:
    """The plan of every parsed version of `dumps` (in any order; only their keys and each
    dump's place are kept), made in a DuckDB database file (None: in memory) under
    memory_limit (DuckDB's default when None)."""
    config = {"preserve_insertion_order": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(str(database) if database else ":memory:", config=config)
    try:
        order = _load_sightings(con, dumps)
        con.create_function(
            "newspack_article_id", article_id_for, [duckdb.sqltype("VARCHAR")], "VARCHAR"
        )
        _link_stories(con)
        con.execute(_PLACEMENTS)
        articles = scalar(con, "SELECT count(DISTINCT article_id) FROM placements")
        return IdentityPlan(con, articles, order)
    except BaseException:
        con.close()
        raise


def _load_sightings(
    con: duckdb.DuckDBPyConnection, dumps: Iterable[DumpKeys]
) -> list[tuple[int, str]]:
    """The sightings and their keys in DuckDB, numbered in crawl order; the dumps (their
    places in the input, their IDs) in crawl order."""
    for name, schema in (("input_sightings", SIGHTINGS), ("input_keys", KEYS)):
        _create(con, name, schema)
    sightings, keys, sort_keys = [], [], []
    for place, dump in enumerate(dumps):
        sort_keys.append((dump.sort_key, place, dump.dump_id))
        for index, version in enumerate(dump.versions):
            sightings.append((place, dump.dump_id, index, version.title, version.content_sha256))
            keys += [(place, index, key) for key in version.keys]
        if len(sightings) >= CHUNK_SIGHTINGS:
            _insert(con, "input_sightings", SIGHTINGS, sightings)
            _insert(con, "input_keys", KEYS, keys)
            sightings, keys = [], []
    _insert(con, "input_sightings", SIGHTINGS, sightings)
    _insert(con, "input_keys", KEYS, keys)
    order = [(place, dump_id) for _, place, dump_id in sorted(sort_keys)]
    _create(con, "dump_ranks", DUMP_RANKS)
    ranks = [(place, rank) for rank, (place, _) in enumerate(order)]
    _insert(con, "dump_ranks", DUMP_RANKS, ranks)
    con.execute(_NUMBERED)
    con.execute("DROP TABLE input_sightings; DROP TABLE input_keys")
    return order


def _create(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    con.register("newspack_batch", schema.empty_table())
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM newspack_batch")
    con.unregister("newspack_batch")


def _insert(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, rows: list[tuple]):
    if not rows:
        return
    columns = zip(*rows, strict=True)
    batch = pa.Table.from_arrays(
        [pa.array(column, f.type) for column, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
    con.register("newspack_batch", batch)
    con.execute(f"INSERT INTO {name} SELECT * FROM newspack_batch")
    con.unregister("newspack_batch")


def _link_stories(con: duckdb.DuckDBPyConnection) -> None:
    """story: each sighting's story, the smallest sighting number of its component."""
    con.execute("CREATE TABLE story AS SELECT sighting, sighting AS story FROM sightings")
    while True:
        con.execute(_LINK_ROUND)
        changed = scalar(con, _CHANGED)
        con.execute("DROP TABLE story")
        con.execute("ALTER TABLE next_story RENAME TO story")
        if not changed:
            return
