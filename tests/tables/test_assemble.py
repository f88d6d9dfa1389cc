"""The streamed build (assemble.py, corpus.py): dump by dump and through Parquet parts,
the same tables as all at once."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newspack import pipeline
from newspack.config import REPO_DUMPS_DIR
from newspack.dev.bench import make_corpus
from newspack.execution.cache import DumpCache, entry_key
from newspack.execution.local import LocalExecutor
from newspack.execution.store import DumpStore
from newspack.execution.worker import head_of
from newspack.ingest.find import find_dumps
from newspack.ingest.keys import dump_keys
from newspack.ingest.sources import reading_order, sources, version_sources
from newspack.package.schema import table_names
from newspack.tables import assemble
from newspack.tables.corpus import corpus_folder
from newspack.tables.entities import corpus_entities
from newspack.tables.frames import STRING_DTYPE, records, to_frame
from newspack.tables.places import default_gazetteer
from newspack.tables.plan import plan_identity

REAL = sorted(REPO_DUMPS_DIR.glob("*.txt"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The real dumps and synthetic ones whose stories run across dumps."""
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder, 36)
    paths, _ = find_dumps(folder)
    return pipeline.process_dumps(REAL + paths, jobs=1)


@pytest.fixture(scope="module")
def tables(corpus):
    return pipeline.build_tables(corpus)


def _assembled(entries, summaries, load, unread, chunk_rows=None, executor=None, cache=None):
    """Every table from assemble, read back into memory."""
    with corpus_folder(None) as folder:
        corpus = assemble.new_corpus(folder, chunk_rows=chunk_rows)
        assemble.assemble(
            entries, summaries, load, unread, corpus, executor=executor, cache_store=cache
        )
        try:
            return corpus.in_memory(table_names())
        finally:
            corpus.close()


def test_the_corpus_has_articles_read_in_several_dumps(tables):
    spread = tables["article_versions"].groupby("article_id")["dump_id"].nunique()
    assert (spread > 1).sum() >= 2


def test_sources_of_parsed_versions_are_those_of_the_published_tables(corpus, tables):
    parsed_dumps = corpus.parsed()
    plan = plan_identity(dump_keys(p) for p in parsed_dumps)
    placed = [
        (parsed, version, slot)
        for place, dump_id in plan.dumps()
        for parsed in [parsed_dumps[place]]
        for version, slot in zip(parsed.versions, plan.placements_of(dump_id), strict=True)
    ]
    plan.close()
    from_parsed = [
        src
        for parsed, version, slot in placed
        if not slot.duplicate
        for src in version_sources(slot.article_id, slot.version, version, parsed.dump.dump_id)
    ]
    assert sorted(from_parsed, key=reading_order) == sources(tables)


def test_small_chunks_give_the_same_tables(corpus, tables):
    chunked = _assembled(corpus.entries, corpus.summaries, corpus.load, corpus.unread, 7)
    for table in table_names():
        pd.testing.assert_frame_equal(chunked[table], tables[table], obj=table)


def test_dumps_read_and_articles_enriched_on_worker_processes_give_the_same_tables(
    corpus, tables, tmp_path, monkeypatch
):
    """The results kept in a cache: worker processes read each dump from it and make its
    rows, other worker processes enrich the articles; one cached result that cannot be read
    there is read by the build itself."""
    cache, results = DumpCache(tmp_path / "store"), {}
    for result in corpus.results():
        key = entry_key(result.parsed.dump.sha256, None)
        cache.put(key, result, head_of(result))
        results[key] = result
    keys = list(results)
    unreadable = keys[1]
    cache.path_of(unreadable).write_bytes(b"not a pickle")
    monkeypatch.setattr(assemble, "MIN_ARTICLES_PER_WORKER", 1)
    executor, tasks = LocalExecutor(2), []
    map_ordered = executor.map_ordered
    monkeypatch.setattr(
        executor, "map_ordered", lambda *args: (tasks.append(args[0]), map_ordered(*args))[1]
    )
    read_here = []

    def load(key):
        read_here.append(key)
        return results[key]

    again = _assembled(keys, corpus.summaries, load, corpus.unread, executor=executor, cache=cache)
    assert set(tasks) == {assemble.pieces_on_worker, assemble.enrich_on_worker}
    assert read_here == [unreadable]
    for table in table_names():
        pd.testing.assert_frame_equal(again[table], tables[table], obj=table)


def test_articles_enriched_all_at_once_in_any_order_give_the_same_tables(corpus, tables):
    """The streamed build enriches an article when its last dump is read; enriching every
    article from all of its sources at once, in reverse order, gives the same entities,
    mentions, figures and focus (names, aliases, counts, places)."""
    results = list(corpus.results())
    analyses = {text: a for r in results for text, a in r.analyses.items()}
    by_article: dict[str, list] = {}
    for src in sources(tables):
        by_article.setdefault(src.article_id, []).append(src)
    articles = records(tables["articles"])
    datelines = {a["article_id"]: a["dateline_city"] for a in articles}
    gazetteer = default_gazetteer()
    mentions, figures, focus, enriched = [], [], [], []
    for article_id in sorted(by_article, reverse=True):
        src_list = by_article[article_id]
        rows = assemble.enrich_article(src_list, analyses, datelines[article_id], gazetteer)
        mentions += rows["mentions"]
        figures += rows["figures"]
        focus += rows["article_focus"]
        enriched.append(rows)
    again = {
        "entities": to_frame("entities", corpus_entities(enriched)),
        "mentions": to_frame("mentions", mentions),
        "figures": to_frame("figures", figures),
        "article_focus": to_frame("article_focus", focus),
    }
    for table, frame in again.items():
        pd.testing.assert_frame_equal(frame, tables[table], obj=table)


@given(st.lists(st.integers(min_value=1, max_value=3 * assemble.VERSIONS_PER_ENRICHMENT)))
def test_enrichment_tasks_hold_every_article_once_in_order_and_few_versions(version_counts):
    articles = [([b"v"] * n, f"city {i}") for i, n in enumerate(version_counts)]
    batches = list(assemble.enrichment_batches(iter(articles)))
    assert [a for batch in batches for a in batch] == articles
    for batch in batches:
        versions = sum(len(a[0]) for a in batch)
        assert batch and (versions <= assemble.VERSIONS_PER_ENRICHMENT or len(batch) == 1)
    for batch, after in pairwise(batches):  # a batch closes only when the next is full
        versions = sum(len(a[0]) for a in batch)
        assert versions + len(after[0][0]) > assemble.VERSIONS_PER_ENRICHMENT


def test_results_are_kept_on_disk_not_in_memory(tmp_path):
    store = DumpStore(DumpCache(tmp_path / "store"))
    done = pipeline.process_dumps(REAL, jobs=1, store=store)
    assert all(isinstance(entry, str) for entry in done.entries)
    assert [r.parsed.dump.dump_id for r in done.results()] == [p.stem for p in REAL]


def test_summaries_read_from_the_cache_are_those_made_when_processing(tmp_path, monkeypatch):
    store = DumpStore(DumpCache(tmp_path / "store"))
    fresh = pipeline.process_dumps(REAL, jobs=1, store=store)
    full_reads = []
    monkeypatch.setattr(store.cache, "get", lambda key: full_reads.append(key))
    cached = pipeline.process_dumps(REAL, jobs=1, store=store)
    assert (fresh.processed, cached.from_cache) == (len(REAL), len(REAL))
    assert list(cached.summaries) == list(fresh.summaries)
    assert [s.keys.dump_id for s in cached.summaries] == [p.stem for p in REAL]
    assert full_reads == []  # the summaries beside the results were enough
    monkeypatch.undo()
    for summary_file in store.cache.folder.glob("*.summary.pickle"):
        summary_file.unlink()
    assert list(pipeline.process_dumps(REAL, jobs=1, store=store).summaries) == list(
        fresh.summaries
    )


def test_pass_one_reads_no_dump_and_pass_two_reads_each_once_in_crawl_order(corpus, tables):
    reads = []

    def load(result):
        reads.append(result.parsed.dump.dump_id)
        return result

    again = _assembled(corpus.entries, corpus.summaries, load, corpus.unread)
    in_crawl_order = sorted(corpus.summaries, key=lambda s: s.keys.sort_key)
    assert reads == [s.keys.dump_id for s in in_crawl_order]
    for table in table_names():
        pd.testing.assert_frame_equal(again[table], tables[table], obj=table)


def test_dumps_read_in_reverse_give_the_same_tables(corpus, tables):
    """Read last dump first, every story's latest version comes before its earlier ones:
    articles are still enriched with all their versions, once their last dump is read."""
    entries, summaries = corpus.entries[::-1], corpus.summaries[::-1]
    again = _assembled(entries, summaries, corpus.load, corpus.unread)
    for table in table_names():
        pd.testing.assert_frame_equal(again[table], tables[table], obj=table)


def test_strings_are_arrow_backed_and_missing_values_are_na(tables):
    versions = tables["article_versions"]
    assert versions["title"].dtype == STRING_DTYPE
    assert versions["byline"].isna().any() and not (versions["byline"] == "None").any()


def test_a_quote_names_its_speaker_as_the_entities_table_does(tables):
    """The speaker of a quote given to an entity is that entity's published name, whichever
    article's spelling of it was read first (the name is settled over the whole corpus)."""
    quotes = tables["quotes"].dropna(subset=["speaker_entity_id"])
    names = tables["entities"].set_index("entity_id")["name"]
    assert not quotes.empty
    assert (quotes["speaker"] == quotes["speaker_entity_id"].map(names)).all()
