"""Stage 3, parse (identity keys): what identification needs of a parsed dump.

Made per dump (in the worker that parses it) and kept beside its result in the store, so
that a build plans every article's identity (tables/identify.py) from these small keys
without reading the dumps again. Versions of one story share a normalised title or a
normalised lead paragraph (ids.identity_key).
"""

from __future__ import annotations

from dataclasses import dataclass

from newspack.ingest.parse import ParsedDump, ParsedVersion
from newspack.ingest.read import crawl_sort_key
from newspack.tables.ids import identity_key

MIN_LEAD_KEY_CHARS = 60


@dataclass(frozen=True)
class VersionKeys:
    """What identity needs of a parsed version: its title, comparison keys and content."""

    title: str
    keys: tuple[str, ...]
    content_sha256: str


@dataclass(frozen=True)
class DumpKeys:
    """What identity needs of a parsed dump (pass 1 of a streamed build keeps only this)."""

    dump_id: str
    sort_key: tuple
    versions: tuple[VersionKeys, ...]


def version_keys(version: ParsedVersion) -> VersionKeys:
    keys = ["title:" + identity_key(version.title)]
    lead = version.lead_text
    if lead and len(identity_key(lead)) >= MIN_LEAD_KEY_CHARS:
        keys.append("lead:" + identity_key(lead))
    return VersionKeys(version.title, tuple(keys), version.content_sha256)


def dump_keys(parsed_dump: ParsedDump) -> DumpKeys:
    return DumpKeys(
        parsed_dump.dump.dump_id,
        crawl_sort_key(parsed_dump.dump.crawl_order, parsed_dump.dump.dump_id),
        tuple(version_keys(v) for v in parsed_dump.versions),
    )


@dataclass(frozen=True)
class DumpSummary:
    """What pass 1 needs of a processed dump, kept in memory for the whole build."""

    keys: DumpKeys


def summarise(result) -> DumpSummary:
    """The summary of a DumpResult (execution/worker.py) of a parsed dump."""
    return DumpSummary(dump_keys(result.parsed))
