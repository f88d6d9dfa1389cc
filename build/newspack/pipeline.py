"""The build, start to end: read dumps -> split -> parse -> identify -> validate -> publish.

Dumps are read, split and parsed one by one (independently, so they can later run in
parallel and be cached); identity needs them all, then the tables are validated and only
then published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from newspack.config import DUMP_GLOB
from newspack.frames import to_frame
from newspack.identify import identify
from newspack.parse import ParsedDump, parse_dump
from newspack.publish import Tables, publish
from newspack.read import DumpError, dump_id_for, read_dump
from newspack.schema import table_names
from newspack.validate import validate_tables

Progress = Callable[[str], None]


@dataclass
class BuildReport:
    tables: Tables
    outputs: dict[str, Path]
    refused: list[str] = field(default_factory=list)  # one message per unreadable dump

    def row_counts(self) -> dict[str, int]:
        return {table: len(frame) for table, frame in self.tables.items()}


def find_dumps(dumps_dir: Path) -> list[Path]:
    if not dumps_dir.is_dir():
        raise FileNotFoundError(f"dumps folder not found: {dumps_dir}")
    return sorted(dumps_dir.glob(DUMP_GLOB))


def parse_dumps(
    paths: list[Path],
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
) -> tuple[list[ParsedDump], list[str]]:
    """Read and parse each dump; unreadable ones are reported, not fatal."""
    crawl_times = crawl_times or {}
    parsed, refused = [], []
    for path in paths:
        if progress:
            progress(path.name)
        try:
            dump = read_dump(path)
        except DumpError as error:
            refused.append(str(error))
            continue
        parsed.append(parse_dump(dump, crawl_times.get(dump_id_for(path))))
    return parsed, refused


def build_tables(parsed: list[ParsedDump]) -> Tables:
    """Identify articles and versions, type the tables, and validate them."""
    rows = identify(parsed)
    tables = {table: to_frame(table, rows[table]) for table in table_names()}
    validate_tables(tables)
    return tables


def run(
    dumps_dir: Path,
    out_dir: Path,
    duckdb_path: Path | None = None,
    crawl_times: dict[str, datetime] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Build and publish the package; raises ValidationFailed before publishing anything."""
    parsed, refused = parse_dumps(find_dumps(dumps_dir), crawl_times, progress)
    tables = build_tables(parsed)
    outputs = publish(tables, out_dir, duckdb_path)
    return BuildReport(tables, outputs, refused)
