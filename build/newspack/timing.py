"""Stage 3, parse (times): read "Updated ..." texts and the dump's crawl time.

Absolute dates ("09 September 2025") and relative ones ("3 min 55 sec ago") are both read
by dateparser; a text is relative when its reading moves with the reference time. Relative
times are resolved against the crawl time, given by the user or inferred from the dump.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

import dateparser

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_PROBE_BASES = (datetime(2001, 1, 1), datetime(2002, 6, 15, 12, 30))


@cache  # dateparser takes milliseconds a text, and dumps repeat the same few texts
def _parse(text: str, base: datetime) -> datetime | None:
    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "TIMEZONE": "UTC",
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PREFER_DATES_FROM": "past",
        },
    )
    return parsed.replace(microsecond=0) if parsed else None


def is_relative(text: str) -> bool:
    """True when the text names a time relative to now ("20 sec ago")."""
    readings = [_parse(text, base) for base in _PROBE_BASES]
    return None not in readings and readings[0] != readings[1]


def absolute_time(text: str) -> datetime | None:
    """The UTC time an absolute "Updated" text names, or None if it names none."""
    if is_relative(text):
        return None
    parsed = _parse(text, _PROBE_BASES[0])
    return parsed.replace(tzinfo=UTC) if parsed else None


def relative_time(text: str, crawl_time: datetime) -> datetime | None:
    """Resolve a relative "Updated" text against the crawl time."""
    parsed = _parse(text, crawl_time.astimezone(UTC).replace(tzinfo=None))
    return parsed.replace(tzinfo=UTC) if parsed else None


def infer_crawl_time(updated_texts: Iterable[str]) -> datetime | None:
    """The end of the day of the newest absolute update date, or None without any.

    A page shows an absolute date only for an update made before the crawl, so the crawl
    happened on or after the newest such day; the end of that day keeps every relative
    time the dump shows on that day too.
    """
    dates = [t for t in map(absolute_time, updated_texts) if t is not None]
    if not dates:
        return None
    newest = max(dates)
    return newest.replace(hour=0, minute=0, second=0) + timedelta(days=1, seconds=-1)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime(ISO_FORMAT) if moment else None


def parse_iso(text: str) -> datetime:
    """Read a user-given timestamp (ISO 8601; UTC when it names no zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
