"""Stages 5-6, identify and enrich, streamed: the tables from the processed dumps.

The processed dumps (execution/store.py) stay in the store and are read back one at a
time, so that memory holds a few dumps' parses and analyses, never the corpus's. Two passes:

1. each dump's summary (DumpSummary: its identity keys), made when the dump was processed
   or read from the cache, gives the identity plan without reading the dump again (made in
   DuckDB, tables/plan.py, and read back a dump at a time);
2. each dump is read once more, in crawl order, a few dumps together (about
   VERSIONS_PER_PIECES versions), for its pieces (dump_pieces): its rows of the identity
   tables (identify.dump_rows) and its versions' texts with their analyses, pickled. An
   article's versions are gathered as their dumps' pieces come (those of an
   article that goes on in a later dump wait on disk) and the article is enriched
   (enrich_article: entities, figures, quotes, focus) when the last dump holding one of
   them has been read, then let go: what waits depends on how far apart a story's versions
   are crawled, not on the corpus's size. Enrichment depends on the article alone.

With enough articles (MIN_ARTICLES_PER_WORKER), both the pieces and the enrichment are made
on the executor's workers (local processes or Dask tasks): a worker reads the dumps' results
from the store's cache itself and hands back Arrow tables and pickled bytes, so the build's
own process routes bytes and writes Arrow, never unpickling a result or making an
article's rows.

Every row goes to the corpus's Parquet files as it is made (tables/corpus.py); what needs
the whole corpus (the entities' corpus-wide columns, the quotes' speaker names) is then a
DuckDB query over them. Row order comes from the primary keys and nothing depends on the
order articles are completed in (tests/tables/test_assemble.py), so the tables are those of
reading every dump at once.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa

from newspack.ingest.keys import DumpSummary
from newspack.ingest.read import UnreadDump
from newspack.ingest.sources import Source, reading_order, version_sources
from newspack.package.schema import table_names
from newspack.tables.corpus import CorpusTables, duckdb_share, rows_to_arrow
from newspack.tables.entities import ENTITIES_QUERY, ENTITY_TABLES, article_entities
from newspack.tables.figures import figure_rows
from newspack.tables.focus import article_focus
from newspack.tables.identify import dump_rows, unread_rows
from newspack.tables.places import Gazetteer, default_gazetteer
from newspack.tables.plan import IdentityPlan, Placement, plan_identity
from newspack.tables.quotes import quote_rows

# A quote's speaker is named as the corpus names the entity (the article's own spelling of
# an entity's name may differ in case or punctuation from its first mention in the corpus).
QUOTES_QUERY = """
SELECT q.* REPLACE (
    CASE WHEN q.speaker_entity_id IS NULL THEN q.speaker ELSE e.name END AS speaker)
FROM quotes q LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id
"""


# Articles per enrichment worker below which articles are enriched in the build's process:
# starting a worker (a process, its imports, the place index) costs seconds.
MIN_ARTICLES_PER_WORKER = 200
# Article versions enriched together (one task, one Arrow table per table): turning rows
# into Arrow and sending a task cost less per article in a batch. Counted in versions, not
# articles, so that a task stays a few versions' texts however long a story runs.
VERSIONS_PER_ENRICHMENT = 16
# Versions of the dumps read together (one task, one Arrow table per table), for the same
# reason; a dump with more is read alone.
VERSIONS_PER_PIECES = 24


def enrich_article(
    src_list: list[Source], analyses: dict, dateline_city, gazetteer: Gazetteer
) -> dict[str, list[dict]]:
    """One article's rows of the enriched tables (and of entities.ENTITY_TABLES), from its
    versions' texts in reading order and their analyses alone."""
    entities = article_entities(src_list, analyses, dateline_city, gazetteer)
    return {
        "mentions": entities.mention_rows,
        "figures": figure_rows(src_list, analyses),
        "quotes": quote_rows(src_list, analyses, entities.mention_rows, entities),
        "article_focus": article_focus(entities, src_list, dateline_city),
        **entities.internal_rows,
    }


def _unpacked(versions: list[bytes]) -> tuple[list[Source], dict]:
    """An article's versions (each pickled by dump_pieces) as its sources in reading order
    and their analyses."""
    src_list, analyses = [], {}
    for packed in versions:
        sources, texts = pickle.loads(packed)
        src_list += sources
        analyses.update(texts)
    return sorted(src_list, key=reading_order), analyses


def enrich_packed(articles: Sequence[tuple[list[bytes], str | None]], gazetteer: Gazetteer) -> dict:
    """enrich_article of articles (each its pickled versions and dateline city), their rows
    together as Arrow tables."""
    rows: dict[str, list[dict]] = {}
    for versions, dateline_city in articles:
        found = enrich_article(*_unpacked(versions), dateline_city, gazetteer)
        for table, table_rows in found.items():
            rows.setdefault(table, []).extend(table_rows)
    return {
        table: rows_to_arrow(table, found, ENTITY_TABLES.get(table))
        for table, found in rows.items()
    }


def enrichment_batches(articles: Iterable[tuple[list[bytes], str | None]]) -> Iterator[list]:
    """Completed articles (their pickled versions and dateline city) in lists of about
    VERSIONS_PER_ENRICHMENT versions: an article with more versions is a list of its own."""
    batch, versions = [], 0
    for article in articles:
        if batch and versions + len(article[0]) > VERSIONS_PER_ENRICHMENT:
            yield batch
            batch, versions = [], 0
        batch.append(article)
        versions += len(article[0])
    if batch:
        yield batch


@cache
def _worker_gazetteer(index_file: Path | None) -> Gazetteer:
    """A worker's gazetteer: the build's place index when this machine sees its file (the
    cache), else one built in memory (never written on a worker)."""
    if index_file is not None and index_file.is_file():
        return Gazetteer.kept_in(index_file)
    return default_gazetteer()


def enrich_on_worker(task: tuple) -> dict:
    """enrich_packed on an executor's worker: task is (place index file, articles)."""
    index_file, articles = task
    return enrich_packed(articles, _worker_gazetteer(index_file))


@dataclass
class DumpVersions:
    """One dump's published versions, each as (article, whether the article is complete
    with this dump, its sources and analyses pickled), and the dateline city of each
    article whose canonical version it holds."""

    versions: list[tuple[str, bool, bytes]]
    datelines: dict[str, str | None]


@dataclass
class DumpPieces:
    """What pass 2 needs of a few dumps consecutive in crawl order, made where they are read
    (dump_pieces): their rows of the identity tables together, as one Arrow table per table,
    and each dump's DumpVersions, in crawl order (None for a dump a worker could not read)."""

    rows: dict[str, pa.Table]
    dumps: list[DumpVersions | None]


def _dump_versions(result, placements: list[Placement], rows: dict) -> DumpVersions:
    parsed = result.parsed
    dump_id = parsed.dump.dump_id
    versions = []
    for version, slot in zip(parsed.versions, placements, strict=True):
        if slot.duplicate:
            continue
        src_list = version_sources(slot.article_id, slot.version, version, dump_id)
        analyses = {src.text: result.analyses[src.text] for src in src_list}
        packed = pickle.dumps((src_list, analyses), protocol=pickle.HIGHEST_PROTOCOL)
        versions.append((slot.article_id, slot.last_dump_id == dump_id, packed))
    return DumpVersions(versions, {row["article_id"]: row["dateline_city"] for row in rows})


def dump_pieces(placed: Sequence[tuple[object | None, list[Placement]]]) -> DumpPieces:
    """The pieces of processed dumps (each an execution.worker.DumpResult and its versions'
    placements), in crawl order; a dump whose result is None is a None in the pieces'
    dumps, and has no rows."""
    rows: dict[str, list[dict]] = {}
    dumps: list[DumpVersions | None] = []
    for result, placements in placed:
        if result is None:
            dumps.append(None)
            continue
        found = dump_rows(result.parsed, placements)
        dumps.append(_dump_versions(result, placements, found["articles"]))
        for table, table_rows in found.items():
            rows.setdefault(table, []).extend(table_rows)
    return DumpPieces(
        {table: rows_to_arrow(table, found) for table, found in rows.items() if found}, dumps
    )


def _loaded(cache_store, entry):
    """A dump's result from the store's cache (or the result itself), None when it cannot
    be read: the build then reads or recomputes it (store.py), with a warning."""
    if not isinstance(entry, str):
        return entry
    try:
        return cache_store.load(entry)
    except Exception:
        return None


def pieces_on_worker(task: tuple) -> DumpPieces:
    """dump_pieces on an executor's worker, which reads the dumps' results itself: task is
    (the store's cache, the dumps: each an entry, a result or its key, and its placements)."""
    cache_store, placed = task
    return dump_pieces([(_loaded(cache_store, entry), placements) for entry, placements in placed])


def pieces_batches(placed: Iterable[tuple]) -> Iterator[list[tuple]]:
    """Dumps (each an entry and its placements) in lists of about VERSIONS_PER_PIECES
    versions: a dump with more is a list of its own."""
    batch, versions = [], 0
    for entry, placements in placed:
        if batch and versions + len(placements) > VERSIONS_PER_PIECES:
            yield batch
            batch, versions = [], 0
        batch.append((entry, placements))
        versions += len(placements)
    if batch:
        yield batch


class _Waiting:
    """The versions of articles whose last dump is still to come, kept on disk (appended,
    pickled, to one file in the corpus's scratch folder) until the article is complete:
    memory holds where each version is, not its texts and analyses."""

    def __init__(self, path: Path):
        self._file = path.open("w+b")
        self._where: dict[str, list[tuple[int, int]]] = {}  # article -> (offset, size)

    def add(self, article_id: str, packed: bytes) -> None:
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(packed)
        self._where.setdefault(article_id, []).append((offset, len(packed)))

    def pop(self, article_id: str) -> list[bytes]:
        found = []
        for offset, size in self._where.pop(article_id, []):
            self._file.seek(offset)
            found.append(self._file.read(size))
        return found

    def articles(self) -> list[str]:
        return sorted(self._where)

    def close(self) -> None:
        self._file.close()


class _Assembly:
    """Pass 2: the tables, dump by dump in crawl order, by the identity plan of pass 1."""

    def __init__(self, plan: IdentityPlan, corpus: CorpusTables):
        self.plan = plan
        self.corpus = corpus
        self.waiting = _Waiting(corpus.folder / "waiting-versions.pickles")
        self.datelines: dict[str, str | None] = {}  # article -> its canonical dateline city

    def completed_articles(self, pieces: Iterable[DumpPieces]) -> Iterator[tuple[list, str]]:
        """The dumps' pieces (in crawl order): their identity rows to the corpus, the versions
        of articles that go on in later dumps put to wait; yield each article whose last
        version a dump holds (its versions, pickled, and its dateline city)."""
        for found in pieces:
            for table, rows in found.rows.items():
                self.corpus.add(table, rows)
            for dump in found.dumps:
                yield from self._add_dump(dump)

    def _add_dump(self, dump: DumpVersions) -> Iterator[tuple[list[bytes], str]]:
        completed: dict[str, list[bytes]] = {}
        for article_id, complete, packed in dump.versions:
            if not complete:  # its latest version is in a later dump
                self.waiting.add(article_id, packed)
                continue
            completed.setdefault(article_id, self.waiting.pop(article_id)).append(packed)
        datelines = dump.datelines
        self.datelines.update(
            (article, city) for article, city in datelines.items() if article not in completed
        )
        for article_id, versions in completed.items():
            # The article's canonical row is published by the dump of its latest version.
            dateline_city = datelines.get(article_id, self.datelines.pop(article_id, None))
            yield versions, dateline_city

    def add_enriched(self, enriched: dict[str, pa.Table]) -> None:
        for table, rows in enriched.items():
            self.corpus.add(table, rows)

    def finish(self, unread: list[UnreadDump]) -> CorpusTables:
        self.waiting.close()
        if waiting := self.waiting.articles():  # every article's last dump has been read
            raise RuntimeError(f"articles never completed: {waiting[:5]}")
        for table, found in unread_rows(unread).items():
            self.corpus.add(table, found)
        self.corpus.seal()
        self.corpus.materialise("entities", ENTITIES_QUERY)
        self.corpus.materialise("quotes", QUOTES_QUERY)
        return self.corpus


def new_corpus(folder, memory_limit: str | None = None, chunk_rows: int | None = None):
    """The corpus's tables, to be written into folder (tables/corpus.py): every published
    table but entities, which is made from the internal tables entities.ENTITY_TABLES."""
    published = [table for table in table_names() if table != "entities"]
    return CorpusTables(folder, published, ENTITY_TABLES, memory_limit, chunk_rows)


def enrichment_workers(executor, articles: int) -> int:
    """Workers worth starting to enrich `articles` articles (0: in this process)."""
    if executor is None:
        return 0
    workers = min(executor.jobs, articles // MIN_ARTICLES_PER_WORKER)
    return workers if workers > 1 else 0


def _pieces(plan: IdentityPlan, entries, load, workers: int, executor, cache_store):
    """Every dump's pieces in crawl order: made on the executor's workers, which read the
    results from the store's cache themselves, or here (load)."""
    dumps = ((entries[place], plan.placements_of(dump_id)) for place, dump_id in plan.dumps())
    batches = pieces_batches(dumps)

    def here(placed: list[tuple]) -> DumpPieces:
        return dump_pieces([(load(entry), placements) for entry, placements in placed])

    if not workers or cache_store is None:
        yield from (here(placed) for placed in batches)
        return
    sent: deque = deque()  # what each task was, oldest first: results come in that order

    def tasks():
        for placed in batches:
            sent.append(placed)
            yield cache_store, placed

    for found in executor.map_ordered(pieces_on_worker, tasks(), workers):
        placed = sent.popleft()
        if None not in found.dumps:
            yield found
            continue
        yield DumpPieces(found.rows, [])  # the dumps the worker read, then each in order
        for dump, one in zip(found.dumps, placed, strict=True):
            yield here([one]) if dump is None else DumpPieces({}, [dump])


def assemble(
    entries: Sequence,
    summaries: Iterable[DumpSummary],
    load: Callable[[object], object],
    unread: list[UnreadDump],
    corpus: CorpusTables,
    gazetteer: Gazetteer | None = None,
    executor=None,
    index_file: Path | None = None,
    cache_store=None,
) -> CorpusTables:
    """Every table, into corpus (new_corpus), from the processed dumps (entries, each read
    once by load as an execution.worker.DumpResult, in crawl order whatever their order
    here; their summaries in the same order) and the dumps that were not read; corpus is
    returned sealed, its views over every table.

    When there are enough articles, the executor's workers (its map_ordered) read the dumps
    from cache_store (the store's cache, execution/cache.py) and make their rows, and other
    workers enrich the articles (reading the place index from index_file); else both are
    done in this process."""
    plan = plan_identity(
        (s.keys for s in summaries),
        corpus.folder / "identity.duckdb",
        duckdb_share(corpus.memory_limit),
    )
    try:
        gazetteer = gazetteer or default_gazetteer()
        assembly = _Assembly(plan, corpus)
        workers = enrichment_workers(executor, plan.article_count)
        pieces = _pieces(plan, entries, load, workers, executor, cache_store)
        completed = enrichment_batches(assembly.completed_articles(pieces))
        if workers:
            tasks = ((index_file, articles) for articles in completed)
            enriched = executor.map_ordered(enrich_on_worker, tasks, workers)
        else:
            enriched = (enrich_packed(articles, gazetteer) for articles in completed)
        for rows in enriched:
            assembly.add_enriched(rows)
    finally:
        plan.close()
    return assembly.finish(unread)
