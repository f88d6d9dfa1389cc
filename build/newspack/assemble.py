"""Stages 5-6, identify and enrich, streamed: the tables from the processed dumps.

The processed dumps (pipeline.process_dumps) are read twice, one at a time, so that memory
holds one dump's parse and analyses, the open articles and the tables, never the corpus's
parses:

1. each dump's identity keys (titles, leads, content hashes) and the full names of the
   people its texts give, for the identity plan and the corpus person index;
2. each dump's rows of the identity tables (identify.dump_rows), and its articles'
   sources and analyses. An article is enriched (entities, figures, quotes) as soon as the
   dump of its canonical version has been read: its mentions are canonicalised with its
   own context and the corpus person index, which is all canonicalisation needs.

Rows become typed frames (pyarrow-backed strings) in chunks, so no table is ever held as
Python dicts. The tables are the same, byte for byte, as reading every dump at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
from newspack.identify import IdentityPlan, dump_keys, dump_rows, plan_identity, unread_rows
from newspack.quotes import quote_rows
from newspack.read import UnreadDump
from newspack.schema import table_names

Tables = dict[str, pd.DataFrame]
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
        frames, self._frames = self._frames, []
        return concat_frames(self.table, frames)


@dataclass
class _OpenArticle:
    """An article whose canonical version has not been read yet."""

    sources: list[Source] = field(default_factory=list)
    analyses: dict = field(default_factory=dict)


class _Assembly:
    def __init__(self, plan: IdentityPlan, persons: PersonIndex):
        self.plan = plan
        self.chunks = {table: TableChunks(table) for table in table_names()}
        self.entities = EntityTable(persons)
        self.open: dict[str, _OpenArticle] = {}

    def add_dump(self, result) -> None:
        parsed, analyses = result.parsed, result.analyses
        rows = dump_rows(parsed, self.plan)
        for table, found in rows.items():
            self.chunks[table].add(found)
        dump_id = parsed.dump.dump_id
        for index, version in enumerate(parsed.versions):
            place = self.plan.placements[(dump_id, index)]
            if place.duplicate:
                continue
            article = self.open.setdefault(place.article_id, _OpenArticle())
            for src in version_sources(place.article_id, place.version, version, dump_id):
                article.sources.append(src)
                article.analyses[src.text] = analyses[src.text]
        for article_row in rows["articles"]:
            self._enrich(article_row["article_id"], article_row["dateline_city"])

    def _enrich(self, article_id: str, dateline_city: str | None) -> None:
        article = self.open.pop(article_id)
        src_list = sorted(article.sources, key=reading_order)
        mention_rows = self.entities.add_article(src_list, article.analyses, dateline_city)
        self.chunks["mentions"].add(mention_rows)
        self.chunks["figures"].add(figure_rows(src_list, article.analyses))
        self.chunks["quotes"].add(quote_rows(src_list, mention_rows))

    def tables(self, unread: list[UnreadDump]) -> Tables:
        if self.open:  # the plan puts every article's canonical version in some dump
            raise RuntimeError(f"articles never completed: {sorted(self.open)[:5]}")
        for table, found in unread_rows(unread).items():
            self.chunks[table].add(found)
        self.chunks["entities"].add(self.entities.rows())
        return {table: self.chunks.pop(table).frame() for table in table_names()}


def assemble(results: Callable[[], Iterable], unread: list[UnreadDump]) -> Tables:
    """Every table, from the results (pipeline.DumpResult of each parsed dump, read afresh
    from the store by each call of results()) and the dumps that were not read."""
    keys, persons = [], set()
    for result in results():
        keys.append(dump_keys(result.parsed))
        persons |= person_names(result.analyses)
    assembly = _Assembly(plan_identity(keys), PersonIndex(sorted(persons)))
    del keys
    for result in results():
        assembly.add_dump(result)
    return assembly.tables(unread)
