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
# Update times outside these bounds are typos or garbage, kept raw and flagged
# (updated_kind = implausible), never used: the site's pages date from the 2000s.
EARLIEST_PLAUSIBLE_UPDATE = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_PLAUSIBLE_UPDATE = datetime(2100, 1, 1, tzinfo=UTC)
MAX_DATE_LEAD = timedelta(days=366)
_PROBE_BASES = (datetime(2001, 1, 1), datetime(2002, 6, 15, 12, 30))


@cache  # dateparser takes milliseconds a text, and dumps repeat the same few texts
def _parse(text: str, base: datetime) -> datetime | None:
    try:
        parsed = _dateparser_reading(text, base)
    except (OverflowError, ValueError):  # "Updated 99999999 days ago" and such
        return None
    return parsed.replace(microsecond=0) if parsed else None


def _dateparser_reading(text: str, base: datetime) -> datetime | None:
    return dateparser.parse(
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


def is_plausible(moment: datetime) -> bool:
    """A time a page of a news site can show: not before the web's news sites, not in the
    far future (a typo such as 2125)."""
    return EARLIEST_PLAUSIBLE_UPDATE <= moment < LATEST_PLAUSIBLE_UPDATE


def implausible_dates(dates: Iterable[datetime]) -> set[datetime]:
    """The dates of one dump that cannot be true: out of the plausible range, or leading
    every other date of the dump by more than MAX_DATE_LEAD (one crawl shows pages updated
    up to that crawl, so a lone date far ahead of the rest is a typo)."""
    dates = sorted(set(dates))
    bad = {d for d in dates if not is_plausible(d)}
    good = [d for d in dates if d not in bad]
    while len(good) >= 2 and good[-1] - good[-2] > MAX_DATE_LEAD:
        bad.add(good.pop())
    return bad


def infer_crawl_time(dates: Iterable[datetime]) -> datetime | None:
    """The end of the day of the newest plausible absolute update date, or None without any.

    A page shows an absolute date only for an update made before the crawl, so the crawl
    happened on or after the newest such day; the end of that day keeps every relative
    time the dump shows on that day too.
    """
    dates = list(dates)
    dates = [d for d in dates if d not in implausible_dates(dates)]
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
