"""Stages 5-6, identify and enrich, streamed: the tables from the processed dumps.

The processed dumps (pipeline.process_dumps) stay in the store and are read back one at a
time, so that memory holds a few dumps' parses and analyses and the tables, never the
corpus's. Two passes:

1. each dump's summary (DumpSummary: its identity keys and the full names of the people
   its texts give), made when the dump was processed or read from the cache, gives the
   identity plan and the corpus person index, without reading the dump again;
2. each dump is read for its rows of the identity tables (identify.dump_rows). An article
   is enriched (entities, figures, quotes) with the dump of its canonical version, its
   earlier versions read back from their dumps: its mentions are canonicalised with its
   own context and the corpus person index, which is all canonicalisation needs. The
   last RECENT_DUMPS dumps read stay in memory, as an article's versions are mostly in
   dumps crawled close together.

Rows become typed frames (pyarrow-backed strings) every CHUNK_ROWS rows, so no table is
held as Python dicts. Row order comes from the primary keys and entities do not depend on
the order articles are completed in (tests/test_assemble.py), so the tables are those of
reading every dump at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from newspack.entities import (
    EntityTable,
    PersonIndex,
    Source,
    person_names,
    reading_order,
    version_sources,
)
from newspack.figures import figure_rows
from newspack.frames import concat_frames, to_frame
from newspack.identify import (
    DumpKeys,
    IdentityPlan,
    dump_keys,
    dump_rows,
    plan_identity,
    unread_rows,
)
from newspack.quotes import quote_rows
from newspack.read import UnreadDump
from newspack.schema import table_names

Tables = dict[str, pd.DataFrame]
CHUNK_ROWS = 20_000  # rows held as dicts before they become a frame
RECENT_DUMPS = 8  # dumps read in pass 2 kept in memory for the articles they share


@dataclass(frozen=True)
class DumpSummary:
    """What pass 1 needs of a processed dump, kept in memory for the whole build."""

    keys: DumpKeys
    persons: frozenset[str]  # full names of people (entities.person_names)


def summarise(result) -> DumpSummary:
    """The summary of a pipeline.DumpResult of a parsed dump."""
    return DumpSummary(dump_keys(result.parsed), frozenset(person_names(result.analyses)))


class TableChunks:
    """One table's rows, turned into typed frames every CHUNK_ROWS rows."""

    def __init__(self, table: str):
        self.table = table
        self._rows: list[dict] = []
        self._frames: list[pd.DataFrame] = []

    def add(self, rows: list[dict]) -> None:
        self._rows += rows
        if len(self._rows) >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows or not self._frames:
            self._frames.append(to_frame(self.table, self._rows))
            self._rows = []

    def frame(self) -> pd.DataFrame:
        self._flush()
        return concat_frames(self.table, self._frames)


class _Assembly:
    """Pass 2: the tables, dump by dump, by the identity plan of pass 1."""

    def __init__(self, plan: IdentityPlan, persons: PersonIndex, load: Callable[[str], object]):
        self.plan = plan
        self.load = load  # dump_id -> that dump's result, read from the store
        self.chunks = {table: TableChunks(table) for table in table_names()}
        self.entities = EntityTable(persons)
        # The dumps that hold each article's published versions.
        self.dumps_of: dict[str, list[str]] = {}
        for (dump_id, _), place in plan.placements.items():
            dumps = self.dumps_of.setdefault(place.article_id, [])
            if not place.duplicate and dump_id not in dumps:
                dumps.append(dump_id)

    def add_dump(self, result) -> None:
        """The dump's identity rows; the articles it completes (canonical version) enriched,
        their earlier versions read back from their dumps (or the recent ones in memory)."""
        rows = dump_rows(result.parsed, self.plan)
        for table, found in rows.items():
            self.chunks[table].add(found)
        complete = {row["article_id"]: row["dateline_city"] for row in rows["articles"]}
        earlier = {d for a in complete for d in self.dumps_of[a]} - {result.parsed.dump.dump_id}
        found: dict[str, tuple[list[Source], dict]] = {a: ([], {}) for a in complete}
        for other in [result, *map(self.load, sorted(earlier))]:
            self._collect(other, found)
        for article_id, (src_list, analyses) in found.items():
            self._enrich(sorted(src_list, key=reading_order), analyses, complete[article_id])

    def _collect(self, result, found: dict[str, tuple[list[Source], dict]]) -> None:
        """The sources and analyses of the found articles' published versions in a dump."""
        dump_id = result.parsed.dump.dump_id
        for index, version in enumerate(result.parsed.versions):
            place = self.plan.placements[(dump_id, index)]
            if place.duplicate or place.article_id not in found:
                continue
            src_list, analyses = found[place.article_id]
            for src in version_sources(place.article_id, place.version, version, dump_id):
                src_list.append(src)
                analyses[src.text] = result.analyses[src.text]

    def _enrich(self, src_list: list[Source], analyses: dict, dateline_city) -> None:
        mention_rows = self.entities.add_article(src_list, analyses, dateline_city)
        self.chunks["mentions"].add(mention_rows)
        self.chunks["figures"].add(figure_rows(src_list, analyses))
        self.chunks["quotes"].add(quote_rows(src_list, mention_rows))

    def tables(self, unread: list[UnreadDump]) -> Tables:
        for table, found in unread_rows(unread).items():
            self.chunks[table].add(found)
        self.chunks["entities"].add(self.entities.rows())
        return {table: self.chunks.pop(table).frame() for table in table_names()}


def assemble(
    entries: Sequence,
    summaries: Sequence[DumpSummary],
    load: Callable[[object], object],
    unread: list[UnreadDump],
) -> Tables:
    """Every table, from the processed dumps (entries in crawl order, each read by load as
    a pipeline.DumpResult, with their summaries) and the dumps that were not read."""
    entry_of = {s.keys.dump_id: e for s, e in zip(summaries, entries, strict=True)}
    persons = PersonIndex(sorted(set().union(*(s.persons for s in summaries))))
    read = lru_cache(maxsize=RECENT_DUMPS)(lambda dump_id: load(entry_of[dump_id]))
    assembly = _Assembly(plan_identity([s.keys for s in summaries]), persons, read)
    for summary in summaries:
        assembly.add_dump(read(summary.keys.dump_id))
    return assembly.tables(unread)
