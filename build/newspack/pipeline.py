"""The build, start to end: read dumps -> split -> parse -> identify -> validate -> publish.

Dumps are read, split and parsed one by one (independently, so they can later run in
parallel and be cached); identity needs them all, then the tables are validated and only
then published. A dump that cannot be read is refused and reported, never fatal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from newspack.config import DUMP_NAME_PATTERN
from newspack.entities import entity_tables, parse_sources, sources
from newspack.figures import figure_rows
from newspack.frames import to_frame
from newspack.identify import identify
from newspack.parse import ParsedDump, parse_dump
from newspack.publish import Tables, build_lock, publish, recover
from newspack.quotes import quote_rows
from newspack.read import (
    DumpError,
    UnreadDump,
    crawl_order_for,
    dump_id_for,
    file_identity,
    read_bytes,
)
from newspack.schema import table_names
from newspack.validate import validate_tables

Progress = Callable[[str], None]
DUMP_SUFFIX = ".txt"


@dataclass
class BuildReport:
    tables: Tables
    outputs: dict[str, Path]
    warnings: list[str] = field(default_factory=list)

    def row_counts(self) -> dict[str, int]:
        return {table: len(frame) for table, frame in self.tables.items()}

    def problems(self) -> list[str]:
        """Every bad input, by file and line: quarantined lines and refused files."""
        return list(self.tables["quarantine"]["problem"])

    def duplicates(self) -> list[str]:
        dumps = self.tables["dumps"]
        rows = dumps[dumps["dump_status"] == "duplicate"]
        return [
            f"{r.file}: same bytes as {r.duplicate_of}, not read again" for r in rows.itertuples()
        ]


def dump_order(path: Path) -> tuple:
    """Crawl order (the NNN of NNN_<hash>.txt); other names after, by name."""
    order = crawl_order_for(path)
    return (order is None, order or 0, path.name)


def find_dumps(dumps_dir: Path) -> tuple[list[Path], list[str]]:
    """Dump files in crawl order, and a warning for each file that breaks the naming rule.

    Rule: every *.txt file is a dump. One named other than NNN_<hash>.txt is read all the
    same, with no crawl order (after the named ones) and a warning; other files are left
    out with a warning.
    """
    if not dumps_dir.is_dir():
        raise FileNotFoundError(f"dumps folder not found: {dumps_dir}")
    paths, warnings = [], []
    for path in sorted(p for p in dumps_dir.iterdir() if p.is_file()):
        if path.suffix != DUMP_SUFFIX:
            warnings.append(f"{path.name}: not a .txt dump, left out")
        elif not re.fullmatch(DUMP_NAME_PATTERN, path.stem):
            paths.append(path)
            warnings.append(
                f"{path.name}: name does not follow NNN_<hash>.txt; read with no "
                "crawl order, after the numbered dumps"
            )
        else:
            paths.append(path)
    return sorted(paths, key=dump_order), warnings


def _unread(path: Path, data: bytes, status: str, problem=None, line=None, duplicate_of=None):
    return UnreadDump(
        **file_identity(path.name, data),
        status=status,
        problem=problem,
        error_line=line,
        duplicate_of=duplicate_of,
    )


def parse_dumps(
    paths: list[Path],
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
) -> tuple[list[ParsedDump], list[UnreadDump]]:
    """Read and parse each dump in order; refused and duplicate dumps are returned apart."""
    crawl_times = crawl_times or {}
    parsed, unread = [], []
    first_with_hash: dict[str, str] = {}
    for path in paths:
        if progress:
            progress(path.name)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in first_with_hash:
            unread.append(_unread(path, data, "duplicate", duplicate_of=first_with_hash[digest]))
            continue
        first_with_hash[digest] = dump_id_for(path)
        try:
            dump = read_bytes(data, path.name)
        except DumpError as error:
            unread.append(_unread(path, data, "refused", str(error), error.line))
            continue
        parsed.append(parse_dump(dump, crawl_times.get(dump.dump_id)))
    return parsed, unread


ENRICHED_TABLES = ("entities", "mentions", "figures", "quotes")


def build_tables(
    parsed: list[ParsedDump], unread: list[UnreadDump] | None = None, with_entities: bool = True
) -> Tables:
    """Identify articles and versions, find entities, type the tables, and validate them."""
    rows = identify(parsed, unread or [])
    tables = {t: to_frame(t, rows[t]) for t in table_names() if t not in ENRICHED_TABLES}
    if not with_entities:
        return tables
    for table, table_rows in enrich(tables).items():
        tables[table] = to_frame(table, table_rows)
    validate_tables(tables)
    return tables


def enrich(tables: Tables) -> dict[str, list[dict]]:
    """Entities, figures and quotes of every text, from one batched spaCy pass."""
    src_list = sources(tables)
    docs = parse_sources(src_list)
    rows = entity_tables(tables, src_list, docs)
    rows["figures"] = figure_rows(src_list, docs)
    rows["quotes"] = quote_rows(src_list, rows["mentions"])
    return rows


def run(
    dumps_dir: Path,
    out_dir: Path,
    duckdb_path: Path | None = None,
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Build and publish the package under the output folder's lock.

    Raises ValidationFailed before publishing anything, BuildLocked when another build holds
    the lock.
    """
    paths, warnings = find_dumps(dumps_dir)
    with build_lock(out_dir):
        if recovered := recover(out_dir):
            warnings.append(f"{out_dir}: {recovered}")
        parsed, unread = parse_dumps(paths, crawl_times, progress)
        tables = build_tables(parsed, unread)
        outputs = publish(tables, out_dir, duckdb_path)
    return BuildReport(tables, outputs, warnings)
