"""Stage 7, validate: check every table against its schema and the tables against each other.

pandera (derived from schemas/) checks types, constraints and primary keys; the checks here
add what a single table cannot say: foreign keys, line numbers inside their dump, update
times not after the crawl, one canonical version per article, a ledger that accounts for
every line of every dump, mentions, figures and quotes whose offsets slice their text
exactly, and focus rows ranked without gaps, one per country. All failures are collected,
then reported together.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.errors

from newspack.ingest.sources import sources
from newspack.package.schema import foreign_keys, pandera_schema, primary_key, table_names
from newspack.tables.frames import Tables

MAX_SHOWN_PER_RULE = 5


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


def check_schema(table: str, frame: pd.DataFrame) -> list[Problem]:
    """pandera checks derived from the table's Frictionless schema."""
    try:
        pandera_schema(table).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return [
            Problem(
                table,
                _row_label(frame, table, case["index"]),
                f"{case['column']}: {case['check']}",
                f"value {case['failure_case']!r}",
            )
            for _, case in cases.iterrows()
        ]
    return []


def check_foreign_keys(tables: Tables) -> list[Problem]:
    problems = []
    for table, frame in tables.items():
        for fk in foreign_keys(table):
            ref = fk["reference"]
            target = tables[ref["resource"]][ref["fields"]].drop_duplicates()
            own = frame[fk["fields"]].dropna()
            merged = own.merge(
                target, how="left", left_on=fk["fields"], right_on=ref["fields"], indicator=True
            )
            missing = merged.index[merged["_merge"] == "left_only"]
            for position in missing:
                index = own.index[position]
                values = "/".join(str(own.at[index, c]) for c in fk["fields"])
                problems.append(
                    Problem(
                        table,
                        _row_label(frame, table, index),
                        "foreign key",
                        f"{fk['fields']} = {values} not found in {ref['resource']} {ref['fields']}",
                    )
                )
    return problems


def _line_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in ("line", "line_start", "line_end", "title_line", "updated_line")
        if c in frame.columns
    ]


def check_line_ranges(tables: Tables) -> list[Problem]:
    """Every line number lies inside its dump; ranges are not reversed."""
    line_counts = tables["dumps"].set_index("dump_id")["line_count"]
    problems = []
    for table, frame in tables.items():
        if "dump_id" not in frame.columns or table == "dumps":
            continue
        limit = frame["dump_id"].map(line_counts)
        # A refused dump has no line count: its quarantine row names the line of the error.
        read = limit.notna()
        for column in _line_columns(frame):
            bad = frame.index[read & frame[column].notna() & (frame[column] > limit)]
            problems += [
                Problem(
                    table,
                    _row_label(frame, table, i),
                    "line inside dump",
                    f"{column} = {frame.at[i, column]} beyond the dump's {limit.at[i]} lines",
                )
                for i in bad
            ]
        if "line_start" in frame.columns:
            bad = frame.index[frame["line_start"] > frame["line_end"]]
            problems += [
                Problem(
                    table,
                    _row_label(frame, table, i),
                    "line range",
                    f"line_start {frame.at[i, 'line_start']} after "
                    f"line_end {frame.at[i, 'line_end']}",
                )
                for i in bad
            ]
    return problems


def check_update_times(tables: Tables) -> list[Problem]:
    """No update time after the crawl of the dump it was read from."""
    crawl = tables["dumps"].set_index("dump_id")["crawl_time"]
    problems = []
    for table in ("article_versions", "articles"):
        frame = tables[table]
        crawl_time = frame["dump_id"].map(crawl)
        both = frame["updated_at"].notna() & crawl_time.notna()
        # ISO 8601 UTC strings of one format compare in time order.
        bad = frame.index[both & (frame["updated_at"] > crawl_time)]
        problems += [
            Problem(
                table,
                _row_label(frame, table, i),
                "updated before crawl",
                f"updated_at {frame.at[i, 'updated_at']} after crawl_time {crawl_time.at[i]}",
            )
            for i in bad
        ]
    return problems


def check_canonical(tables: Tables) -> list[Problem]:
    """Exactly one canonical version per article, the latest, and articles points at it."""
    versions = tables["article_versions"]
    latest = versions.groupby("article_id")["version"].max()
    flagged = versions[versions["is_canonical"]].groupby("article_id")["version"].agg(list)
    problems = []
    for article_id, version in latest.items():
        if flagged.get(article_id, []) != [version]:
            problems.append(
                Problem(
                    "article_versions",
                    str(article_id),
                    "one canonical version",
                    f"versions {flagged.get(article_id, [])} are canonical; "
                    f"only the latest, {version}, must be",
                )
            )
    articles = tables["articles"].set_index("article_id")
    for article_id, row in articles.iterrows():
        if latest.get(article_id) != row["canonical_version"]:
            problems.append(
                Problem(
                    "articles",
                    str(article_id),
                    "canonical version",
                    f"canonical_version {row['canonical_version']} is not the "
                    f"latest version {latest.get(article_id)}",
                )
            )
    return problems


def _published_keys(tables: Tables, table: str) -> set[str]:
    frame = tables[table]
    columns = [frame[c].astype(str) for c in primary_key(table)]
    keys = columns[0]
    for column in columns[1:]:
        keys = keys + "/" + column
    return set(keys)


def check_ledger(tables: Tables) -> list[Problem]:
    """Every line of every dump has one ledger row, and published rows point at real rows."""
    ledger = tables["line_ledger"]
    problems = []
    dumps = tables["dumps"]
    lines_by_dump = ledger.groupby("dump_id")["line"].agg(set)
    for dump in dumps[dumps["dump_status"] == "parsed"].itertuples():
        if pd.isna(dump.line_count):
            continue  # check_dump_statuses reports it
        expected = set(range(1, dump.line_count + 1))
        if missing := sorted(expected - lines_by_dump.get(dump.dump_id, set())):
            problems.append(
                Problem(
                    "line_ledger",
                    dump.dump_id,
                    "every line accounted for",
                    f"{len(missing)} line(s) missing, first {missing[:10]}",
                )
            )
    for table_name, group in ledger[ledger["table_name"].notna()].groupby("table_name"):
        keys = _published_keys(tables, table_name)
        for index in group.index[~group["row_key"].isin(keys)]:
            problems.append(
                Problem(
                    "line_ledger",
                    _row_label(ledger, "line_ledger", index),
                    "ledger points at a row",
                    f"{table_name} has no row {ledger.at[index, 'row_key']}",
                )
            )
    return problems


def check_dump_statuses(tables: Tables) -> list[Problem]:
    """Parsed dumps were read; refused ones say why; duplicates point at a parsed dump."""
    dumps = tables["dumps"].set_index("dump_id", drop=False)
    parsed = set(dumps.index[dumps["dump_status"] == "parsed"])
    problems = []
    for dump in dumps.itertuples():
        if dump.dump_status == "parsed" and pd.isna(dump.line_count):
            problems.append(Problem("dumps", dump.dump_id, "parsed dump", "no line count"))
        if dump.dump_status == "refused" and not dump.problem:
            problems.append(Problem("dumps", dump.dump_id, "refused dump", "no problem given"))
        if dump.dump_status == "duplicate" and dump.duplicate_of not in parsed:
            problems.append(
                Problem(
                    "dumps",
                    dump.dump_id,
                    "duplicate dump",
                    f"duplicate_of {dump.duplicate_of!r} is not a parsed dump",
                )
            )
    return problems


def _source_texts(tables: Tables) -> dict[tuple, str]:
    """(article_id, version, source, position) -> the text mentions, figures and quotes
    point into (sources.sources: the texts that are analysed)."""
    return {(s.article_id, s.version, s.source, s.position): s.text for s in sources(tables)}


# Tables whose rows point into a text by offsets, and the column that must equal the slice.
OFFSET_TABLES = {"mentions": "surface", "figures": "surface", "quotes": "quotation"}


def check_offsets(tables: Tables) -> list[Problem]:
    """Offsets of mentions, figures and quotes slice their text exactly to what they hold."""
    texts = _source_texts(tables)
    problems = []
    for table, column in OFFSET_TABLES.items():
        frame = tables.get(table)
        if frame is None:
            continue
        for i, row in zip(frame.index, frame.itertuples(), strict=True):
            text = texts.get((row.article_id, row.version, row.source, row.source_position))
            expected = getattr(row, column)
            found = None if text is None else text[row.start : row.end]
            if found != expected:
                problems.append(
                    Problem(
                        table,
                        _row_label(frame, table, i),
                        "offsets slice to the text",
                        f"text[{row.start}:{row.end}] is {found!r}, not {expected!r}",
                    )
                )
    return problems


def check_enrichment(tables: Tables) -> list[Problem]:
    """Entity mention counts add up; linked figures exist."""
    problems = []
    if "mentions" in tables:
        counts = tables["mentions"].groupby("entity_id").size()
        for e in tables["entities"].itertuples():
            if counts.get(e.entity_id, 0) != e.mention_count:
                problems.append(
                    Problem(
                        "entities",
                        e.entity_id,
                        "mention count",
                        f"mention_count {e.mention_count}, but "
                        f"{counts.get(e.entity_id, 0)} mentions",
                    )
                )
    if "figures" in tables:
        figures = tables["figures"]
        known = set(figures["figure_id"])
        for f in figures[figures["related_figure_id"].notna()].itertuples():
            if f.related_figure_id not in known:
                problems.append(
                    Problem(
                        "figures",
                        f.figure_id,
                        "related figure",
                        f"{f.related_figure_id} is not a figure",
                    )
                )
    return problems


def check_focus(tables: Tables) -> list[Problem]:
    """Each article's focus rows: a country on every row, ranks 1, 2, 3 without a gap,
    distinct countries, and an entity wherever a place below country level is named."""
    frame = tables.get("article_focus")
    if frame is None:
        return []
    problems = []
    for i in frame.index[frame["country_code"].isna()]:
        problems.append(
            Problem(
                "article_focus", _row_label(frame, "article_focus", i), "country", "no country_code"
            )
        )
    for article_id, group in frame.groupby("article_id"):
        ranks = sorted(group["rank"])
        if ranks != list(range(1, len(ranks) + 1)):
            problems.append(
                Problem("article_focus", str(article_id), "ranks from 1", f"ranks {ranks}")
            )
        if group["country_code"].nunique() != len(group):
            problems.append(
                Problem(
                    "article_focus",
                    str(article_id),
                    "one row per country",
                    f"countries {list(group['country_code'])}",
                )
            )
    placed = frame[frame["place_kind"].isin(["city", "subdivision"])]
    for i in placed.index:
        if pd.isna(placed.at[i, "place_entity_id"]):
            problems.append(
                Problem(
                    "article_focus",
                    _row_label(frame, "article_focus", i),
                    "place entity",
                    "a place kind without its entity",
                )
            )
    return problems


def check_version_counts(tables: Tables) -> list[Problem]:
    """articles.version_count is the number of the article's versions."""
    counts = tables["article_versions"].groupby("article_id").size()
    articles = tables["articles"]
    found = articles["article_id"].map(counts).fillna(0).astype(int)
    bad = articles.index[articles["version_count"] != found]
    return [
        Problem(
            "articles",
            _row_label(articles, "articles", i),
            "version count",
            f"version_count {articles.at[i, 'version_count']}, but {found.at[i]} version(s)",
        )
        for i in bad
    ]


# Every cross-table check, run by validate_tables (a test fails if a check_* is missing).
CROSS_TABLE_CHECKS = (
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


def validate_tables(tables: Tables) -> None:
    """Raise ValidationFailed listing every problem; return quietly when all is well."""
    problems = []
    for table in table_names():
        problems += check_schema(table, tables[table])
    for check in CROSS_TABLE_CHECKS:
        problems += check(tables)
    if problems:
        raise ValidationFailed(problems)
