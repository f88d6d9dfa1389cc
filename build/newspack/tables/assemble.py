"""Stages 5-6, identify and enrich, streamed: the tables from the processed dumps.

The processed dumps (execution/store.py) stay in the store and are read back one at a
time, so that memory holds a few dumps' parses and analyses and the tables, never the
corpus's. Two passes:

1. each dump's summary (DumpSummary: its identity keys), made when the dump was processed
   or read from the cache, gives the identity plan without reading the dump again;
2. each dump is read once more, in crawl order, for its rows of the identity tables
   (identify.dump_rows) and its versions' texts with their analyses. An article's versions
   are gathered as their dumps are read and the article is enriched (entities, figures,
   quotes, focus) when the last dump holding one of them has been read, then let go: memory holds
   only the articles whose versions lie both before and after the point reached, which
   depends on how far apart a story's versions are crawled, not on the corpus's size. Its
   mentions are canonicalised with its own context alone, which is all canonicalisation
   needs (short forms never join names across articles).

Rows become typed frames (pyarrow-backed strings) every CHUNK_ROWS rows, so no table is
held as Python dicts. Row order comes from the primary keys and entities do not depend on
the order articles are completed in (tests/tables/test_assemble.py), so the tables are those of
reading every dump at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from newspack.ingest.keys import DumpSummary
from newspack.ingest.read import UnreadDump
from newspack.ingest.sources import Source, reading_order, version_sources
from newspack.package.schema import table_names
from newspack.tables.entities import EntityTable
from newspack.tables.figures import figure_rows
from newspack.tables.focus import article_focus
from newspack.tables.frames import Tables, concat_frames, to_frame
from newspack.tables.identify import (
    IdentityPlan,
    dump_rows,
    plan_identity,
    unread_rows,
)
from newspack.tables.places import Gazetteer
from newspack.tables.quotes import quote_rows

CHUNK_ROWS = 20_000  # rows held as dicts before they become a frame


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
    """Pass 2: the tables, dump by dump in crawl order, by the identity plan of pass 1."""

    def __init__(self, plan: IdentityPlan, crawl_order: list[str], gazetteer: Gazetteer | None):
        self.plan = plan
        self.chunks = {table: TableChunks(table) for table in table_names()}
        self.entities = EntityTable(gazetteer)
        position = {dump_id: i for i, dump_id in enumerate(crawl_order)}
        # Each article's last dump in crawl order that holds one of its published versions.
        self.last_dump: dict[str, str] = {}
        for (dump_id, _), slot in plan.placements.items():
            last = self.last_dump.get(slot.article_id)
            if not slot.duplicate and (last is None or position[dump_id] > position[last]):
                self.last_dump[slot.article_id] = dump_id
        self.gathered: dict[str, tuple[list[Source], dict]] = {}  # article -> versions so far
        self.datelines: dict[str, str | None] = {}  # article -> its canonical dateline city

    def add_dump(self, result) -> None:
        """The dump's identity rows; its versions' texts gathered with their articles', and
        the articles whose last version this dump holds enriched."""
        rows = dump_rows(result.parsed, self.plan)
        for table, found in rows.items():
            self.chunks[table].add(found)
        self.datelines.update((row["article_id"], row["dateline_city"]) for row in rows["articles"])
        dump_id = result.parsed.dump.dump_id
        for article_id in self._gather(result):
            if self.last_dump[article_id] == dump_id:
                src_list, analyses = self.gathered.pop(article_id)
                dateline_city = self.datelines.pop(article_id)
                self._enrich(sorted(src_list, key=reading_order), analyses, dateline_city)

    def _gather(self, result) -> list[str]:
        """Add the sources and analyses of the dump's published versions to their articles';
        the articles, in the order the dump holds them."""
        dump_id = result.parsed.dump.dump_id
        articles = []
        for index, version in enumerate(result.parsed.versions):
            slot = self.plan.placements[(dump_id, index)]
            if slot.duplicate:
                continue
            src_list, analyses = self.gathered.setdefault(slot.article_id, ([], {}))
            for src in version_sources(slot.article_id, slot.version, version, dump_id):
                src_list.append(src)
                analyses[src.text] = result.analyses[src.text]
            articles.append(slot.article_id)
        return list(dict.fromkeys(articles))

    def _enrich(self, src_list: list[Source], analyses: dict, dateline_city) -> None:
        mention_rows = self.entities.add_article(src_list, analyses, dateline_city)
        self.chunks["mentions"].add(mention_rows)
        self.chunks["figures"].add(figure_rows(src_list, analyses))
        self.chunks["quotes"].add(quote_rows(src_list, analyses, mention_rows, self.entities))
        self.chunks["article_focus"].add(
            article_focus(self.entities, src_list, mention_rows, dateline_city)
        )

    def tables(self, unread: list[UnreadDump]) -> Tables:
        if self.gathered:  # every article's last dump has been read: none can be left
            raise RuntimeError(f"articles never completed: {sorted(self.gathered)[:5]}")
        for table, found in unread_rows(unread).items():
            self.chunks[table].add(found)
        self.chunks["entities"].add(self.entities.rows())
        return {table: self.chunks.pop(table).frame() for table in table_names()}


def assemble(
    entries: Sequence,
    summaries: Sequence[DumpSummary],
    load: Callable[[object], object],
    unread: list[UnreadDump],
    gazetteer: Gazetteer | None = None,
) -> Tables:
    """Every table, from the processed dumps (entries in crawl order, each read once by load
    as an execution.worker.DumpResult, with their summaries) and the dumps that were not read."""
    crawl_order = [s.keys.dump_id for s in summaries]
    assembly = _Assembly(plan_identity([s.keys for s in summaries]), crawl_order, gazetteer)
    for entry in entries:
        assembly.add_dump(load(entry))
    return assembly.tables(unread)
