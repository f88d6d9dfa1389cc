"""Stage 7, validate: check every table against its schema and the tables against each other.

pandera (derived from schemas/) checks every row's types and constraints, a chunk of rows
at a time; the rest is DuckDB queries over the whole tables, out of core (the corpus's
Parquet parts, tables/corpus.py, or frames registered with DuckDB for a small corpus): unique
primary keys, foreign keys, line numbers inside their dump, update times not after the
crawl, one canonical version per article, a ledger that accounts for every line of every
dump, mentions, figures and quotes whose offsets slice their text exactly, and focus rows
ranked without gaps, one per country. All failures are collected, then reported together.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pandera.errors

from newspack.package.schema import foreign_keys, pandera_schema, primary_key, table_names
from newspack.tables.corpus import (
    CorpusTables,
    chunk_rows_for,
    corpus_folder,
    default_memory_limit,
    quoted,
)
from newspack.tables.frames import Tables, read_csv_chunks

MAX_SHOWN_PER_RULE = 5
MAX_KEPT_PER_RULE = 1_000  # problems of one rule kept (a broken build could have millions)
Connection = duckdb.DuckDBPyConnection


@dataclass(frozen=True)
class Problem:
    table: str
    row: str  # primary key values joined by "/", or "-" for a table-wide problem
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table} [{self.row}] {self.rule}: {self.detail}"


class ValidationFailed(Exception):
    """Raised with every problem found; the message lists them grouped by table and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(format_problems(problems))


def format_problems(problems: list[Problem]) -> str:
    lines = [f"{len(problems)} validation problem(s):"]
    by_rule: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        by_rule.setdefault((problem.table, problem.rule), []).append(problem)
    for (table, rule), group in by_rule.items():
        lines.append(f"  {table}: {rule} ({len(group)} row(s))")
        lines += [f"    [{p.row}] {p.detail}" for p in group[:MAX_SHOWN_PER_RULE]]
    return "\n".join(lines)


def _row_label(frame: pd.DataFrame, table: str, index) -> str:
    if index is None or pd.isna(index) or index not in frame.index:
        return "-"
    return "/".join(str(frame.at[index, c]) for c in primary_key(table))


def check_chunk(table: str, frame: pd.DataFrame) -> list[Problem]:
    """pandera's checks for a chunk of a table's rows: every rule but primary-key uniqueness,
    which spans chunks (check_primary_keys checks it over the whole table)."""
    schema = pandera_schema(table)
    schema.unique = None
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return _schema_problems(table, frame, errors)
    return []


def _schema_problems(table: str, frame: pd.DataFrame, errors) -> list[Problem]:
    return [
        Problem(
            table,
            _row_label(frame, table, case["index"]),
            f"{case['column']}: {case['check']}",
            f"value {case['failure_case']!r}",
        )
        for _, case in errors.failure_cases.iterrows()
    ]


# --- cross-table checks: DuckDB queries over views named as the tables -------------------


def _key(table: str, alias: str = "t") -> str:
    """SQL for a row's label: its primary key values joined by "/"."""
    return "concat_ws('/', " + ", ".join(f"{alias}.{quoted(c)}" for c in primary_key(table)) + ")"


def _rows(con: Connection, sql: str, parameters: list | None = None) -> list[tuple]:
    return con.execute(f"{sql} LIMIT {MAX_KEPT_PER_RULE}", parameters).fetchall()


def _problems(table: str, rule: str, rows: Iterable[tuple], detail) -> list[Problem]:
    """A Problem per row (label first, then what detail() formats the rest with)."""
    return [Problem(table, str(row[0]), rule, detail(*row[1:])) for row in rows]


def check_primary_keys(con: Connection) -> list[Problem]:
    """No two rows of a table share their primary key."""
    problems = []
    for table in table_names():
        keys = ", ".join(quoted(c) for c in primary_key(table))
        rows = _rows(
            con,
            f"SELECT concat_ws('/', {keys}), count(*) FROM {quoted(table)} "
            f"GROUP BY {keys} HAVING count(*) > 1 ORDER BY 1",
        )
        problems += _problems(
            table, "primary key uniqueness", rows, lambda n: f"{n} rows share this key"
        )
    return problems


def check_foreign_keys(con: Connection) -> list[Problem]:
    problems = []
    for table in table_names():
        for fk in foreign_keys(table):
            ref = fk["reference"]
            own = ", ".join(f"t.{quoted(c)}" for c in fk["fields"])
            present = " AND ".join(f"t.{quoted(c)} IS NOT NULL" for c in fk["fields"])
            joined = " AND ".join(
                f"r.{quoted(theirs)} = t.{quoted(mine)}"
                for mine, theirs in zip(fk["fields"], ref["fields"], strict=True)
            )
            rows = _rows(
                con,
                f"SELECT {_key(table)}, concat_ws('/', {own}) FROM {quoted(table)} t "
                f"WHERE {present} AND NOT EXISTS "
                f"(SELECT 1 FROM {quoted(ref['resource'])} r WHERE {joined}) ORDER BY 1",
            )
            problems += _problems(
                table,
                "foreign key",
                rows,
                lambda values, fk=fk, ref=ref: (
                    f"{fk['fields']} = {values} not found in {ref['resource']} {ref['fields']}"
                ),
            )
    return problems


LINE_COLUMNS = ("line", "line_start", "line_end", "title_line", "updated_line")


def _columns(con: Connection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {quoted(table)}").fetchall()]


def check_line_ranges(con: Connection) -> list[Problem]:
    """Every line number lies inside its dump; ranges are not reversed."""
    problems = []
    for table in table_names():
        columns = _columns(con, table)
        if "dump_id" not in columns or table == "dumps":
            continue
        for column in (c for c in LINE_COLUMNS if c in columns):
            # A refused dump has no line count: its quarantine row names the line of the error.
            rows = _rows(
                con,
                f"SELECT {_key(table)}, t.{quoted(column)}, d.line_count FROM {quoted(table)} t "
                f"JOIN dumps d USING (dump_id) WHERE d.line_count IS NOT NULL "
                f"AND t.{quoted(column)} > d.line_count ORDER BY 1",
            )
            problems += _problems(
                table,
                "line inside dump",
                rows,
                lambda value, limit, column=column: (
                    f"{column} = {value} beyond the dump's {limit} lines"
                ),
            )
        if "line_start" in columns:
            rows = _rows(
                con,
                f"SELECT {_key(table)}, line_start, line_end FROM {quoted(table)} t "
                "WHERE line_start > line_end ORDER BY 1",
            )
            problems += _problems(
                table,
                "line range",
                rows,
                lambda start, end: f"line_start {start} after line_end {end}",
            )
    return problems


def check_update_times(con: Connection) -> list[Problem]:
    """No update time after the crawl of the dump it was read from."""
    problems = []
    for table in ("article_versions", "articles"):
        # ISO 8601 UTC strings of one format compare in time order.
        rows = _rows(
            con,
            f"SELECT {_key(table)}, t.updated_at, d.crawl_time FROM {quoted(table)} t "
            "JOIN dumps d USING (dump_id) WHERE t.updated_at > d.crawl_time ORDER BY 1",
        )
        problems += _problems(
            table,
            "updated before crawl",
            rows,
            lambda updated, crawl: f"updated_at {updated} after crawl_time {crawl}",
        )
    return problems


def check_canonical(con: Connection) -> list[Problem]:
    """Exactly one canonical version per article, the latest, and articles points at it."""
    latest = (
        "SELECT article_id, max(version) AS latest, "
        "list(version ORDER BY version) FILTER (WHERE is_canonical) AS flagged "
        "FROM article_versions GROUP BY article_id"
    )
    rows = _rows(
        con,
        f"SELECT article_id, coalesce(flagged, []), latest FROM ({latest}) "
        "WHERE coalesce(flagged, []) <> [latest] ORDER BY 1",
    )
    problems = _problems(
        "article_versions",
        "one canonical version",
        rows,
        lambda flagged, latest: (
            f"versions {flagged} are canonical; only the latest, {latest}, must be"
        ),
    )
    rows = _rows(
        con,
        f"SELECT a.article_id, a.canonical_version, v.latest FROM articles a "
        f"LEFT JOIN ({latest}) v USING (article_id) "
        "WHERE v.latest IS DISTINCT FROM a.canonical_version ORDER BY 1",
    )
    return problems + _problems(
        "articles",
        "canonical version",
        rows,
        lambda version, latest: f"canonical_version {version} is not the latest version {latest}",
    )


def check_version_counts(con: Connection) -> list[Problem]:
    """articles.version_count is the number of the article's versions."""
    rows = _rows(
        con,
        f"SELECT {_key('articles')}, t.version_count, coalesce(v.n, 0) FROM articles t "
        "LEFT JOIN (SELECT article_id, count(*) AS n FROM article_versions GROUP BY article_id)"
        " v USING (article_id) WHERE t.version_count IS DISTINCT FROM coalesce(v.n, 0) "
        "ORDER BY 1",
    )
    return _problems(
        "articles",
        "version count",
        rows,
        lambda count, found: f"version_count {count}, but {found} version(s)",
    )


def check_ledger(con: Connection) -> list[Problem]:
    """Every line of every dump has one ledger row, and published rows point at real rows."""
    rows = _rows(
        con,
        "SELECT d.dump_id, count(*), list(n ORDER BY n)[1:10] FROM dumps d, "
        "LATERAL generate_series(1, d.line_count) AS lines(n) "
        "WHERE d.dump_status = 'parsed' AND d.line_count IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM line_ledger l WHERE l.dump_id = d.dump_id AND l.line = lines.n) "
        "GROUP BY d.dump_id ORDER BY 1",
    )
    problems = _problems(
        "line_ledger",
        "every line accounted for",
        rows,
        lambda missing, first: f"{missing} line(s) missing, first {first}",
    )
    named = [r[0] for r in con.execute("SELECT DISTINCT table_name FROM line_ledger").fetchall()]
    for table in sorted(t for t in named if t is not None):
        exists = (
            f"EXISTS (SELECT 1 FROM {quoted(table)} p WHERE {_key(table, 'p')} = t.row_key)"
            if table in table_names()
            else "false"  # a table the package does not have
        )
        rows = _rows(
            con,
            f"SELECT {_key('line_ledger')}, t.row_key FROM line_ledger t "
            f"WHERE t.table_name = ? AND NOT {exists} ORDER BY 1",
            [table],
        )
        problems += _problems(
            "line_ledger",
            "ledger points at a row",
            rows,
            lambda key, table=table: f"{table} has no row {key}",
        )
    return problems


def check_dump_statuses(con: Connection) -> list[Problem]:
    """Parsed dumps were read; refused ones say why; duplicates point at a parsed dump."""
    rows = _rows(
        con,
        "SELECT dump_id, 'parsed dump', 'no line count' FROM dumps "
        "WHERE dump_status = 'parsed' AND line_count IS NULL "
        "UNION ALL SELECT dump_id, 'refused dump', 'no problem given' FROM dumps "
        "WHERE dump_status = 'refused' AND problem IS NULL "
        "UNION ALL SELECT dump_id, 'duplicate dump', "
        "format('duplicate_of {} is not a parsed dump', "
        "coalesce('''' || duplicate_of || '''', 'None')) FROM dumps t "
        "WHERE dump_status = 'duplicate' AND NOT EXISTS (SELECT 1 FROM dumps p "
        "WHERE p.dump_status = 'parsed' AND p.dump_id = t.duplicate_of) ORDER BY 1, 2",
    )
    return [Problem("dumps", dump_id, rule, detail) for dump_id, rule, detail in rows]


# The texts mentions, figures and quotes point into (ingest.sources.sources: every text that
# is analysed), by (article_id, version, source, source_position).
TEXTS_QUERY = """
SELECT article_id, version, 'title' AS source, 1 AS source_position, title AS text
    FROM article_versions WHERE title_line IS NOT NULL
UNION ALL SELECT article_id, version, 'bullet', position, text FROM bullets
UNION ALL SELECT article_id, version, 'paragraph', position, text FROM paragraphs
    WHERE kind = 'body'
UNION ALL SELECT article_id, version, 'caption', position, caption FROM photos
"""
# Tables whose rows point into a text by offsets, and the column that must equal the slice.
OFFSET_TABLES = {"mentions": "surface", "figures": "surface", "quotes": "quotation"}


def check_offsets(con: Connection) -> list[Problem]:
    """Offsets of mentions, figures and quotes slice their text exactly to what they hold
    (DuckDB's substring counts characters, as Python's slices do)."""
    problems = []
    for table, column in OFFSET_TABLES.items():
        found = 'substring(x.text, t.start + 1, greatest(t."end" - t.start, 0))'
        rows = _rows(
            con,
            f'SELECT {_key(table)}, t.start, t."end", {found}, t.{quoted(column)} '
            f"FROM {quoted(table)} t LEFT JOIN ({TEXTS_QUERY}) x "
            "USING (article_id, version, source, source_position) "
            f"WHERE {found} IS DISTINCT FROM t.{quoted(column)} ORDER BY 1",
        )
        problems += _problems(
            table,
            "offsets slice to the text",
            rows,
            lambda start, end, text, expected: f"text[{start}:{end}] is {text!r}, not {expected!r}",
        )
    return problems


def check_enrichment(con: Connection) -> list[Problem]:
    """Entity mention counts add up; linked figures exist."""
    rows = _rows(
        con,
        "SELECT e.entity_id, e.mention_count, coalesce(m.n, 0) FROM entities e LEFT JOIN "
        "(SELECT entity_id, count(*) AS n FROM mentions GROUP BY entity_id) m USING (entity_id) "
        "WHERE e.mention_count IS DISTINCT FROM coalesce(m.n, 0) ORDER BY 1",
    )
    problems = _problems(
        "entities",
        "mention count",
        rows,
        lambda count, found: f"mention_count {count}, but {found} mentions",
    )
    rows = _rows(
        con,
        "SELECT figure_id, related_figure_id FROM figures t WHERE related_figure_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM figures f WHERE f.figure_id = t.related_figure_id) "
        "ORDER BY 1",
    )
    return problems + _problems(
        "figures", "related figure", rows, lambda related: f"{related} is not a figure"
    )


def check_focus(con: Connection) -> list[Problem]:
    """Each article's focus rows: a country on every row, ranks 1, 2, 3 without a gap,
    distinct countries, and an entity wherever a place below country level is named."""
    key = _key("article_focus")
    rows = _rows(con, f"SELECT {key} FROM article_focus t WHERE country_code IS NULL ORDER BY 1")
    problems = _problems("article_focus", "country", rows, lambda: "no country_code")
    rows = _rows(
        con,
        "SELECT article_id, list(rank ORDER BY rank) AS ranks FROM article_focus "
        "GROUP BY article_id HAVING ranks <> range(1, count(*) + 1) ORDER BY 1",
    )
    problems += _problems("article_focus", "ranks from 1", rows, lambda ranks: f"ranks {ranks}")
    rows = _rows(
        con,
        "SELECT article_id, list(country_code ORDER BY rank) FROM article_focus "
        "GROUP BY article_id HAVING count(DISTINCT country_code) <> count(*) ORDER BY 1",
    )
    problems += _problems(
        "article_focus", "one row per country", rows, lambda codes: f"countries {codes}"
    )
    rows = _rows(
        con,
        f"SELECT {key} FROM article_focus t WHERE place_kind IN ('city', 'subdivision') "
        "AND place_entity_id IS NULL ORDER BY 1",
    )
    return problems + _problems(
        "article_focus", "place entity", rows, lambda: "a place kind without its entity"
    )


# Every cross-table check, run by validate_con (a test fails if a check_* is missing).
CROSS_TABLE_CHECKS = (
    check_primary_keys,
    check_foreign_keys,
    check_line_ranges,
    check_update_times,
    check_canonical,
    check_version_counts,
    check_ledger,
    check_dump_statuses,
    check_offsets,
    check_enrichment,
    check_focus,
)


def cross_table_problems(con: Connection) -> list[Problem]:
    return [problem for check in CROSS_TABLE_CHECKS for problem in check(con)]


def validate_tables(tables: Tables) -> None:
    """validate_corpus for tables held in memory (a small corpus, a test): they go through
    the same Parquet files and queries as a build's."""
    with corpus_folder(None) as folder:
        _validate_frames(((t, [tables[t]]) for t in table_names()), folder)


def validate_package(data_dir: Path, folder: Path, memory_limit: str | None = None) -> int:
    """validate_corpus for a published package's CSVs (in data_dir), read a chunk at a time
    into Parquet files in folder (an owned scratch folder, tables/corpus.py): a package
    larger than memory is validated all the same. Returns the number of rows."""
    chunk_rows = chunk_rows_for(memory_limit or default_memory_limit())
    frames = (
        (table, read_csv_chunks(table, data_dir / f"{table}.csv", chunk_rows))
        for table in table_names()
    )
    return _validate_frames(frames, folder, memory_limit)


def _validate_frames(frames, folder: Path, memory_limit: str | None = None) -> int:
    """Write each table's frames ((table, frames) pairs) to Parquet files in folder and
    validate them (validate_corpus); the number of rows."""
    corpus = CorpusTables(folder, table_names(), memory_limit=memory_limit)
    try:
        for table, chunks in frames:
            for frame in chunks:
                corpus.add_frame(table, frame)
        corpus.seal()
        validate_corpus(corpus)
        return sum(corpus.count(table) for table in table_names())
    finally:
        corpus.close()


def validate_corpus(corpus: CorpusTables) -> None:
    """validate_tables for the corpus's tables on disk: pandera a chunk at a time, the
    cross-table checks in DuckDB."""
    # DuckDB runs the cross-table queries outside Python's lock: on a cursor of their own in
    # a second thread, they overlap pandera's chunks instead of following them.
    with corpus.con.cursor() as cursor, ThreadPoolExecutor(1) as pool:
        cross_table = pool.submit(cross_table_problems, cursor)
        problems = [
            problem
            for table in table_names()
            for frame in corpus.batches(table, ordered=False)
            for problem in check_chunk(table, frame)
        ]
        problems += cross_table.result()
    if problems:
        raise ValidationFailed(problems)
