"""Stage 5, identify: give parsed versions a stable article identity and build the tables.

Versions of one story share a normalised title or a normalised lead paragraph. A story's
article_id hashes the title of its earliest version (dumps in crawl order), so adding later
dumps never changes an ID. Renderings with identical content are one version; the latest
version is canonical.

Two passes, so that a build can stream its dumps: the plan (tables/plan.py, in DuckDB) needs
only each dump's keys (titles, leads, content hashes); then each dump's rows (dump_rows) are
made from that dump and its placements alone.
"""

from __future__ import annotations

from newspack.ingest import timing
from newspack.ingest.keys import dump_keys
from newspack.ingest.parse import (
    DROPPED,
    PUBLISHED,
    QUARANTINE_REASONS,
    QUARANTINED,
    VERSION,
    LineUse,
    ParsedDump,
    ParsedVersion,
)
from newspack.ingest.read import UnreadDump
from newspack.package.schema import table_names
from newspack.tables.frames import row_from
from newspack.tables.plan import Placement, plan_identity

Rows = dict[str, list[dict]]


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
        "raw_text": line.raw if keep_raw and line.raw else None,  # a CSV cell has no ""
    }


def _version_rows(rows: Rows, slot: Placement, v: ParsedVersion, dump_id: str) -> dict:
    """Rows of one published version in every table; returns its article_versions row."""
    article_id, number = slot.article_id, slot.version
    rows["article_versions"].append(
        row_from(
            "article_versions",
            v,
            article_id=article_id,
            version=number,
            dump_id=dump_id,
            bullet_count=len(v.bullets),
            paragraph_count=len(v.paragraphs),
            photo_count=len(v.photos),
            is_canonical=slot.canonical,
        )
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
        rows["photos"].append(row_from("photos", p, **key, dump_id=dump_id))
    for use in v.uses:
        row_key = None
        if use.status == PUBLISHED:
            row_key = _row_key(
                article_id, number, *([use.position] if use.table != VERSION else [])
            )
        rows["line_ledger"].append(_ledger_row(dump_id, use, use.table, row_key))
    return rows["article_versions"][-1]


def _duplicate_rows(rows: Rows, slot: Placement, v: ParsedVersion, dump_id: str) -> None:
    """Ledger rows of a version that repeats an earlier one: only the repeated text is
    dropped; blank and quarantined lines stay what they are."""
    key = _row_key(slot.article_id, slot.version)
    for use in v.uses:
        if use.status == PUBLISHED:
            row = _ledger_row(dump_id, use, VERSION, key, DROPPED, "duplicate_version")
        else:
            row = _ledger_row(dump_id, use)
        rows["line_ledger"].append(row)


def _article_row(canonical: dict, slot: Placement) -> dict:
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
        "article_id": canonical["article_id"],
        "canonical_version": canonical["version"],
        "version_count": slot.version_count,
        "first_dump_id": slot.first_dump_id,
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


def dump_rows(parsed: ParsedDump, placements: list[Placement]) -> Rows:
    """Rows of the identity tables that one parsed dump gives, its versions placed by the
    plan (placements: one per parsed version, in order)."""
    dump_id = parsed.dump.dump_id
    if len(placements) != len(parsed.versions):
        raise RuntimeError(
            f"{dump_id}: the identity plan places {len(placements)} versions of this dump, "
            f"its parse has {len(parsed.versions)}; dumps must be read in the planned order"
        )
    rows: Rows = {table: [] for table in table_names()}  # enrichment tables stay empty
    rows["dumps"].append(_dump_row(parsed))
    rows["line_ledger"] += [_ledger_row(dump_id, use) for use in parsed.leading]
    for version, slot in zip(parsed.versions, placements, strict=True):
        if slot.duplicate:
            _duplicate_rows(rows, slot, version, dump_id)
            continue
        version_row = _version_rows(rows, slot, version, dump_id)
        if slot.canonical:
            rows["articles"].append(_article_row(version_row, slot))
    rows["quarantine"] = _quarantine_rows(rows["line_ledger"], {dump_id: parsed.dump.file})
    return rows


def unread_rows(unread: list[UnreadDump]) -> Rows:
    """Rows of the dumps that were not read: refused (quarantined) or duplicate files."""
    rows: Rows = {"dumps": [], "quarantine": []}
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


def identify(parsed_dumps: list[ParsedDump], unread: list[UnreadDump] = ()) -> Rows:
    """Rows of every identity table, from the parsed dumps (in any order) and the unread
    ones, all in memory (the pipeline streams the same two passes, pipeline.build_tables)."""
    plan = plan_identity(dump_keys(p) for p in parsed_dumps)
    rows: Rows = {table: [] for table in table_names()}
    try:
        for place, dump_id in plan.dumps():
            parsed = parsed_dumps[place]
            for table, found in dump_rows(parsed, plan.placements_of(dump_id)).items():
                rows[table] += found
    finally:
        plan.close()
    for table, found in unread_rows(unread).items():
        rows[table] += found
    return rows
