"""The build, start to end, in eight stages; every module's docstring names its stage.

1. read      ingest/read.py, find.py, textfix.py: files -> numbered, repaired lines
2. split     ingest/split.py: lines -> article blocks, from their header lines
3. parse     ingest/parse.py, timing.py, sources.py, keys.py: blocks -> parsed versions
4. analyse   nlp/: spaCy and quantulum3 over every text -> entity spans and figures
5. identify  tables/plan.py, identify.py, ids.py: versions -> articles with stable IDs, the
             tables
6. enrich    tables/canonical.py, entities.py, figures.py, quotes.py, focus.py: entities,
             figures, quotes, what each article is about
7. validate  package/validate.py, schema.py: every table against schemas/ and each other
8. publish   package/publish.py, dictionary.py: CSVs, datapackage.json, DuckDB, dictionary

Stages 1-4 work on one dump at a time, independently of the others: an executor runs them
(execution/local.py: worker processes on every core; execution/cluster.py: a Dask cluster)
and the store (execution/store.py: a folder or a URL every worker reaches) keeps their
results, cached by the dump's content hash, so a build redoes only new or changed dumps.
The corpus-level stages 5-6 run in the build's own process (the identity plan made by
DuckDB, articles enriched on the executor's workers when there are enough) and read the
results back one dump at a time, in crawl order (tables/assemble.py), which makes the
output the same whatever the executor and the cache did. Their rows go to disk as they
are made (Parquet files in an owned scratch folder, tables/corpus.py) and what needs the
whole corpus runs as DuckDB queries over them under a memory limit, so the build's
memory does not grow with the corpus. The tables are then validated and only then
published, streamed. A dump that cannot be read is refused and reported, never fatal.
After the build, releases/ versions, diffs and fetches published packages, and dev/
holds the benchmark and the evaluation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from newspack.config import DATA_DIRNAME, DIST_DIRNAME, DUCKDB_NAME
from newspack.execution.cache import CACHE_DIRNAME
from newspack.execution.local import LocalExecutor
from newspack.execution.store import (
    SCRATCH_KIND,
    SCRATCH_PREFIX,
    DumpStore,
    Executor,
    Processed,
    Progress,
    is_url,
    local_path,
)
from newspack.ingest.find import find_dumps
from newspack.ingest.read import dump_id_for
from newspack.package import dictionary
from newspack.package.ownership import (
    NotOwned,
    check_duckdb_place,
    check_duckdb_target,
    check_output,
    remove_owned,
)
from newspack.package.publish import (
    JOURNAL_NAME,
    STAGING_KIND,
    STAGING_PREFIX,
    build_lock,
    held_lock,
    publish,
    recover,
)
from newspack.package.schema import primary_key, table_names
from newspack.package.validate import validate_corpus
from newspack.tables import places
from newspack.tables.assemble import assemble, new_corpus
from newspack.tables.corpus import (
    CORPUS_KIND,
    CORPUS_PREFIX,
    CorpusTables,
    corpus_folder,
    memory_bytes,
    quoted,
)
from newspack.tables.frames import Tables, read_csv


class PublishedTables(Mapping[str, pd.DataFrame]):
    """The tables of a published package, each read from its CSV when first asked for
    (tables/frames.py read_csv): the build itself never holds a whole table."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in table_names():
            raise KeyError(table)
        if table not in self._read:
            self._read[table] = read_csv(table, self.data_dir / f"{table}.csv")
        return self._read[table]

    def __iter__(self) -> Iterator[str]:
        return iter(table_names())

    def __len__(self) -> int:
        return len(table_names())


def _key_order(table: str) -> str:
    return ", ".join(quoted(c) for c in primary_key(table))


@dataclass
class BuildSummary:
    """What a build says about its tables, taken before their scratch folder goes."""

    row_counts: dict[str, int]
    problems: list[str]  # quarantine.problem, in primary-key order
    dumps: pd.DataFrame  # one row per dump: small beside the corpus
    implausible: list[tuple]  # (dump_id, updated_line, updated_raw) of implausible times

    @classmethod
    def of(cls, corpus: CorpusTables) -> BuildSummary:
        con = corpus.con
        problems = con.execute(
            f"SELECT problem FROM quarantine ORDER BY {_key_order('quarantine')}"
        ).fetchall()
        implausible = con.execute(
            "SELECT dump_id, updated_line, updated_raw FROM article_versions WHERE "
            f"updated_kind = 'implausible' ORDER BY {_key_order('article_versions')}"
        ).fetchall()
        return cls(
            {table: corpus.count(table) for table in table_names()},
            [row[0] for row in problems],
            corpus.frame("dumps"),
            implausible,
        )


@dataclass
class BuildReport:
    tables: Mapping[str, pd.DataFrame]  # PublishedTables: read when asked for
    outputs: dict[str, Path]
    summary: BuildSummary
    warnings: list[str] = field(default_factory=list)
    work: dict[str, int] = field(default_factory=dict)  # dumps, processed, from_cache, workers

    def row_counts(self) -> dict[str, int]:
        return dict(self.summary.row_counts)

    def problems(self) -> list[str]:
        """Every bad input, by file and line: quarantined lines and refused files."""
        return list(self.summary.problems)

    def duplicates(self) -> list[str]:
        dumps = self.summary.dumps
        rows = dumps[dumps["dump_status"] == "duplicate"]
        return [
            f"{r.file}: same bytes as {r.duplicate_of}, not read again" for r in rows.itertuples()
        ]


def process_dumps(
    paths: list[Path],
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    store: DumpStore | None = None,
    executor: Executor | None = None,
) -> Processed:
    """Stages 1-4 of every dump (store.DumpStore.results_for), by the executor given
    (default: the local one with `jobs` processes)."""
    executor = executor or LocalExecutor(jobs)
    return (store or DumpStore()).results_for(paths, crawl_times, executor, progress)


def build_corpus(
    done: Processed,
    folder: Path,
    gazetteer: places.Gazetteer | None = None,
    memory_limit: str | None = None,
    executor: Executor | None = None,
    index_file: Path | None = None,
) -> CorpusTables:
    """Stages 5-7 into folder: identify articles and versions, find entities, figures,
    quotes and focus, streaming the processed dumps (tables/assemble.py; dumps read and
    articles enriched on the executor's workers, which read the store's cache and the place
    index from index_file), and validate the tables out of core. Raises ValidationFailed."""
    corpus = new_corpus(folder, memory_limit)
    try:
        assemble(
            done.entries,
            done.summaries,
            done.load,
            done.unread,
            corpus,
            gazetteer,
            executor,
            index_file,
            done.store.cache if done.store else None,
        )
        validate_corpus(corpus)
    except BaseException:
        corpus.close()
        raise
    return corpus


def build_tables(done: Processed, gazetteer: places.Gazetteer | None = None) -> Tables:
    """build_corpus, then every table in memory: for a small corpus (tests, evaluation)."""
    with corpus_folder(None) as folder:
        corpus = build_corpus(done, folder, gazetteer)
        try:
            return corpus.in_memory(table_names())
        finally:
            corpus.close()


def run(
    dumps_dir: Path,
    out_dir: Path,
    duckdb_path: Path | None = None,
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
    cache_dir: Path | str | None = None,
    use_cache: bool = True,
    follow_links: bool = False,
    executor: Executor | None = None,
    lock_held: bool = False,
    memory_limit: str | None = None,
) -> BuildReport:
    """Build and publish the package under the output folder's lock (lock_held: the caller,
    a release, holds it already).

    Dumps are processed by the executor (default: local, `jobs` worker processes, every
    core by default) and taken from the cache in cache_dir (a path or an fsspec URL;
    default: <out_dir>/.newspack-cache) when they have not changed. memory_limit (DuckDB's
    form, "2GB"; default tables/corpus.py default_memory_limit) bounds the corpus-level
    stages' DuckDB work, which spills to disk beyond it, and sizes their chunks of rows.
    Raises ValidationFailed before publishing anything, BuildLocked when another build holds
    the lock, NotOwned (before writing anything) when an output or cache path holds files
    newspack did not create, FileNotFoundError for a missing dumps folder and ValueError
    for a crawl time given for no dump or a memory limit it cannot read.
    """
    if memory_limit is not None:
        memory_bytes(memory_limit)  # refused before anything is read or written
    paths, warnings = find_dumps(dumps_dir, follow_links)
    _check_crawl_times(crawl_times or {}, paths)
    out_dir = out_dir.absolute()
    duckdb_path = (duckdb_path or out_dir / DIST_DIRNAME / DUCKDB_NAME).absolute()
    cache_root = (
        cache_dir if is_url(cache_dir) else local_path(cache_dir or out_dir / CACHE_DIRNAME)
    )
    cache_folder = local_path(cache_root)  # None for a remote URL: nothing local to overlap
    if cache_folder is not None:
        check_separate(out_dir, cache_folder, use_cache)
    check_duckdb_place(duckdb_path, out_dir, cache_folder if use_cache else None)
    executor = executor or LocalExecutor(jobs)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotOwned(f"{out_dir}: a file, not a folder; --out must name a folder")
    if not (out_dir / JOURNAL_NAME).exists():  # refuse before writing even the lock
        check_output(out_dir)
        check_duckdb_target(duckdb_path)
    with held_lock(out_dir) if lock_held else build_lock(out_dir):
        if recovered := recover(out_dir):
            warnings.append(f"{out_dir}: {recovered}")
        remove_stale_folders(out_dir)
        check_output(out_dir)
        check_duckdb_target(duckdb_path)
        with (
            DumpStore.opened(out_dir, cache_root, use_cache) as store,
            corpus_folder(out_dir) as folder,
        ):
            done = process_dumps(paths, crawl_times, progress, jobs, store, executor)
            index_file = store.cache.places_index() if use_cache else None
            gazetteer = places.Gazetteer.kept_in(index_file)
            corpus = build_corpus(done, folder, gazetteer, memory_limit, executor, index_file)
            try:
                outputs = publish(corpus, out_dir, duckdb_path)
                if written := dictionary.write(corpus.con, out_dir):
                    outputs["dictionary"] = written
                else:
                    warnings.append(
                        f"{out_dir / dictionary.DICTIONARY_PATH}: not written by newspack; "
                        "left as it is"
                    )
                summary = BuildSummary.of(corpus)
            finally:
                corpus.close()
    stats = {"dumps": len(paths), "processed": done.processed, "from_cache": done.from_cache}
    warnings += done.warnings + implausible_times(summary)
    tables = PublishedTables(out_dir / DATA_DIRNAME)
    return BuildReport(tables, outputs, summary, warnings, {**stats, "workers": done.workers})


def implausible_times(summary: BuildSummary) -> list[str]:
    """A message, by file and line, for every update time kept raw because it cannot be true."""
    files = summary.dumps.set_index("dump_id")["file"]
    return [
        f"{files[dump_id]}: line {line}: implausible update time "
        f"{raw!r}, kept in updated_raw only (updated_kind = implausible)"
        for dump_id, line, raw in summary.implausible
    ]


def _check_crawl_times(crawl_times: dict[str, datetime], paths: list[Path]) -> None:
    known = {dump_id_for(path) for path in paths}
    if unknown := sorted(set(crawl_times) - known):
        raise ValueError(
            f"--crawl-time names no dump of the folder: {', '.join(unknown)} "
            f"(dumps: {', '.join(sorted(known)) or 'none'})"
        )


def check_separate(out_dir: Path, cache_root: Path, use_cache: bool) -> None:
    """The cache must not be, or hold, the output folder (the build removes what it owns
    there) nor sit inside the published data/."""
    if not use_cache:
        return
    cache_root, out_resolved = cache_root.resolve(), out_dir.resolve()
    if out_resolved.is_relative_to(cache_root) or cache_root.is_relative_to(
        out_resolved / DATA_DIRNAME
    ):
        raise NotOwned(
            f"--cache-dir {cache_root} overlaps the output folder {out_resolved}: give the "
            "cache a folder of its own"
        )


def remove_stale_folders(out_dir: Path) -> None:
    """Remove staging and scratch folders that a killed build left behind. Called under the
    lock, after recovery: no other build is using them."""
    for folder in out_dir.glob(f"{SCRATCH_PREFIX}*"):
        remove_owned(folder, SCRATCH_KIND)
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        remove_owned(folder, STAGING_KIND)
    for folder in out_dir.glob(f"{CORPUS_PREFIX}*"):
        remove_owned(folder, CORPUS_KIND)
