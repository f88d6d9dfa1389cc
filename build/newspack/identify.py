"""Stage 4, identify: give parsed versions a stable article identity and build the tables.

Versions of one story share a normalised title or a normalised lead paragraph. A story's
article_id hashes the title of its earliest version (dumps in crawl order), so adding later
dumps never changes an ID. Renderings with identical content are one version; the latest
version is canonical.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from newspack import timing
from newspack.config import ARTICLE_ID_HEX_DIGITS, ARTICLE_ID_PREFIX
from newspack.parse import (
    DROPPED,
    PUBLISHED,
    QUARANTINE_REASONS,
    QUARANTINED,
    VERSION,
    LineUse,
    ParsedDump,
    ParsedVersion,
)
from newspack.read import UnreadDump
from newspack.schema import table_names

MIN_LEAD_KEY_CHARS = 60
_NON_ALNUM = re.compile(r"[\W_]+")

Rows = dict[str, list[dict]]


def identity_key(text: str) -> str:
    """Comparison form of a title or lead: case, quotes, punctuation and spacing ignored."""
    return _NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def article_id_for(title: str) -> str:
    digest = hashlib.sha256(identity_key(title).encode("utf-8")).hexdigest()
    return ARTICLE_ID_PREFIX + digest[:ARTICLE_ID_HEX_DIGITS]


@dataclass
class Sighting:
    """A parsed version in the dump it was read from."""

    parsed_dump: ParsedDump
    version: ParsedVersion

    @property
    def dump_id(self) -> str:
        return self.parsed_dump.dump.dump_id

    def identity_keys(self) -> list[str]:
        keys = ["title:" + identity_key(self.version.title)]
        lead = self.version.lead_text
        if lead and len(identity_key(lead)) >= MIN_LEAD_KEY_CHARS:
            keys.append("lead:" + identity_key(lead))
        return keys


def crawl_sort_key(parsed_dump: ParsedDump) -> tuple:
    """Dumps in crawl order; names without NNN come last, by name."""
    order = parsed_dump.dump.crawl_order
    return (order is None, order if order is not None else 0, parsed_dump.dump.dump_id)


def _group_stories(sightings: list[Sighting]) -> list[list[Sighting]]:
    """Union sightings that share a title or lead key; groups in order of first sighting."""
    parent = list(range(len(sightings)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with_key: dict[str, int] = {}
    for i, sighting in enumerate(sightings):
        for key in sighting.identity_keys():
            j = first_with_key.setdefault(key, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[Sighting]] = {}
    for i, sighting in enumerate(sightings):
        groups.setdefault(find(i), []).append(sighting)
    return sorted(groups.values(), key=lambda g: sightings.index(g[0]))


def _row_key(*values: object) -> str:
    return "/".join(str(v) for v in values)


def _ledger_row(dump_id: str, use: LineUse, table=None, key=None, status=None, reason=None):
    line = use.line
    status = status or use.status
    keep_raw = status != PUBLISHED or line.encoding_status != "clean"
    return {
        "dump_id": dump_id,
        "line": line.number,
        "status": status,
        "table_name": table,
        "row_key": key,
        "reason": reason or use.reason,
        "encoding_status": line.encoding_status,
        "raw_text": line.raw if keep_raw else None,
    }


def _version_rows(rows: Rows, article_id: str, number: int, sighting: Sighting) -> None:
    v, dump_id = sighting.version, sighting.dump_id
    rows["article_versions"].append(
        {
            "article_id": article_id,
            "version": number,
            "dump_id": dump_id,
            "block": v.block,
            "line_start": v.line_start,
            "line_end": v.line_end,
            "layout": v.layout,
            "title": v.title,
            "title_line": v.title_line,
            "short_url": v.short_url,
            "updated_raw": v.updated_raw,
            "updated_line": v.updated_line,
            "updated_kind": v.updated_kind,
            "updated_at": v.updated_at,
            "updated_at_inferred": v.updated_at_inferred,
            "byline": v.byline,
            "dateline": v.dateline,
            "dateline_city": v.dateline_city,
            "dateline_agency": v.dateline_agency,
            "bullet_count": len(v.bullets),
            "paragraph_count": len(v.paragraphs),
            "photo_count": len(v.photos),
            "word_count": v.word_count,
            "is_truncated": v.is_truncated,
            "is_canonical": False,
            "content_sha256": v.content_sha256,
        }
    )
    key = {"article_id": article_id, "version": number}
    for position, (text, line) in enumerate(v.bullets, start=1):
        rows["bullets"].append(
            {**key, "position": position, "text": text, "dump_id": dump_id, "line": line}
        )
    for p in v.paragraphs:
        rows["paragraphs"].append(
            {
                **key,
                "position": p.position,
                "kind": p.kind,
                "text": p.text,
                "dump_id": dump_id,
                "line_start": p.line,
                "line_end": p.line,
            }
        )
    for p in v.photos:
        rows["photos"].append(
            {
                **key,
                "position": p.position,
                "placement": p.placement,
                "caption": p.caption,
                "credit": p.credit,
                "after_paragraph": p.after_paragraph,
                "dump_id": dump_id,
                "line": p.line,
            }
        )
    for use in v.uses:
        row_key = None
        if use.status == PUBLISHED:
            row_key = _row_key(
                article_id, number, *([use.position] if use.table != VERSION else [])
            )
        rows["line_ledger"].append(_ledger_row(dump_id, use, use.table, row_key))


def _article_row(article_id: str, versions: list[dict], first_dump_id: str) -> dict:
    canonical = versions[-1]
    canonical["is_canonical"] = True
    return {
        **{
            k: canonical[k]
            for k in (
                "title",
                "dateline",
                "dateline_city",
                "dateline_agency",
                "updated_raw",
                "updated_kind",
                "updated_at",
                "updated_at_inferred",
                "short_url",
                "dump_id",
                "line_start",
                "line_end",
            )
        },
        "article_id": article_id,
        "canonical_version": canonical["version"],
        "version_count": len(versions),
        "first_dump_id": first_dump_id,
    }


def _dump_row(parsed: ParsedDump) -> dict:
    dump = parsed.dump
    return {
        "dump_id": dump.dump_id,
        "file": dump.file,
        "crawl_order": dump.crawl_order,
        "dump_status": "parsed",
        "duplicate_of": None,
        "problem": None,
        "sha256": dump.sha256,
        "bytes": dump.bytes,
        "line_count": len(dump.lines),
        "encoding": dump.encoding,
        "newline": dump.newline,
        "crawl_time": timing.iso(parsed.crawl_time),
        "crawl_time_source": parsed.crawl_time_source,
        "block_count": len(parsed.versions),
    }


def _unread_row(dump: UnreadDump) -> dict:
    return {
        "dump_id": dump.dump_id,
        "file": dump.file,
        "crawl_order": dump.crawl_order,
        "dump_status": dump.status,
        "duplicate_of": dump.duplicate_of,
        "problem": dump.problem,
        "sha256": dump.sha256,
        "bytes": dump.bytes,
        "line_count": None,
        "encoding": None,
        "newline": None,
        "crawl_time": None,
        "crawl_time_source": "unknown",
        "block_count": None,
    }


def _quarantine_rows(ledger: list[dict], files: dict[str, str]) -> list[dict]:
    """Runs of quarantined lines (blank lines between them do not break a run)."""
    runs: list[dict] = []
    lines = sorted(
        (r for r in ledger if r["status"] != PUBLISHED), key=lambda r: (r["dump_id"], r["line"])
    )
    for row in lines:
        if row["status"] != QUARANTINED:
            if row["reason"] != "blank" and runs:
                runs[-1]["closed"] = True
            continue
        last = runs[-1] if runs else None
        if (
            last
            and not last.get("closed")
            and last["dump_id"] == row["dump_id"]
            and last["reason"] == row["reason"]
        ):
            last["line_end"] = row["line"]
            last["texts"].append(row["raw_text"])
        else:
            if last:
                last["closed"] = True
            runs.append(
                {
                    "dump_id": row["dump_id"],
                    "line_start": row["line"],
                    "line_end": row["line"],
                    "reason": row["reason"],
                    "texts": [row["raw_text"]],
                }
            )
    return [
        {
            "dump_id": run["dump_id"],
            "line_start": run["line_start"],
            "line_end": run["line_end"],
            "reason": run["reason"],
            "problem": f"{files[run['dump_id']]}: lines {run['line_start']}-{run['line_end']}: "
            f"{QUARANTINE_REASONS[run['reason']]}",
            "quarantined_text": "\n".join(run["texts"]),
        }
        for run in runs
    ]


def identify(parsed_dumps: list[ParsedDump], unread: list[UnreadDump] = ()) -> Rows:
    """Rows of every table, from the parsed dumps (in any order) and the unread ones."""
    ordered = sorted(parsed_dumps, key=crawl_sort_key)
    rows: Rows = {table: [] for table in table_names()}  # entities and mentions stay empty
    for parsed in ordered:
        rows["dumps"].append(_dump_row(parsed))
        for use in parsed.leading:
            rows["line_ledger"].append(_ledger_row(parsed.dump.dump_id, use))
    sightings = [Sighting(p, v) for p in ordered for v in p.versions]
    for story in _group_stories(sightings):
        article_id = article_id_for(story[0].version.title)
        version_rows: list[dict] = []
        seen: dict[str, int] = {}
        for sighting in story:
            digest = sighting.version.content_sha256
            if digest in seen:
                key = _row_key(article_id, seen[digest])
                for use in sighting.version.uses:
                    # Only the repeated text is dropped; blank and quarantined lines stay.
                    if use.status == PUBLISHED:
                        row = _ledger_row(
                            sighting.dump_id, use, VERSION, key, DROPPED, "duplicate_version"
                        )
                    else:
                        row = _ledger_row(sighting.dump_id, use)
                    rows["line_ledger"].append(row)
                continue
            seen[digest] = len(version_rows) + 1
            _version_rows(rows, article_id, seen[digest], sighting)
            version_rows.append(rows["article_versions"][-1])
        rows["articles"].append(_article_row(article_id, version_rows, story[0].dump_id))
    files = {p.dump.dump_id: p.dump.file for p in ordered}
    rows["quarantine"] = _quarantine_rows(rows["line_ledger"], files)
    for dump in unread:
        rows["dumps"].append(_unread_row(dump))
        if dump.status == "refused":
            rows["quarantine"].append(
                {
                    "dump_id": dump.dump_id,
                    "line_start": dump.error_line,
                    "line_end": dump.error_line,
                    "reason": "refused_file",
                    "problem": dump.problem,
                    "quarantined_text": None,
                }
            )
    return rows
