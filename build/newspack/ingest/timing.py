"""Stage 3, parse (times): read "Updated ..." texts and the dump's crawl time.

Absolute dates ("09 September 2025") and relative ones ("3 min 55 sec ago") are both read
by dateparser. A text is relative when its reading moves as far as the reference time does,
absolute when its reading does not move at all; any other text names no calendar date.
Relative times are resolved against the crawl time, given by the user or inferred from the
dump. A dump may be an archive crawl, with pages updated years apart: every date that can be
true is kept, and only what cannot be is flagged (updated_kind = implausible).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import dateparser

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The only bounds a page's update time is held to (besides the crawl time the user gives).
# Arab News was founded on 20 April 1975; its web pages carry the dates of the stories they
# archive, so none can show an earlier day. Year 2100 or later is a typo (2125), and no
# other upper bound is safe without a crawl time: an archive crawl shows pages updated
# years apart (2017 beside 2025), and the build reads no wall clock (byte-stable outputs).
SITE_FIRST_DAY = datetime(1975, 4, 20, tzinfo=UTC)
LATEST_PLAUSIBLE_UPDATE = datetime(2100, 1, 1, tzinfo=UTC)
# Two reference times a text is read against: a relative text moves by their distance.
_PROBE_BASES = (datetime(2001, 1, 1), datetime(2002, 6, 15, 12, 30))
# "2 months ago" moves a day or two more or less than its reference (months and years
# differ in length); a partial date that dateparser completes from the reference
# ("February 2020", "00 January 2020") moves by months less, and is not relative.
_MONTH_SLACK = timedelta(days=3)

ABSOLUTE, RELATIVE, IMPLAUSIBLE = "absolute", "relative", "implausible"


@dataclass(frozen=True)
class UpdateTime:
    """An "Updated ..." text read: its updated_kind, the time (None when it has none) and
    whether that time rests on an inferred crawl time."""

    kind: str
    moment: datetime | None = None
    inferred: bool = False


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


def _probe_readings(text: str) -> tuple[datetime | None, datetime | None]:
    first, second = (_parse(text, base) for base in _PROBE_BASES)
    return first, second


def is_relative(text: str) -> bool:
    """True when the text names a time relative to now ("20 sec ago")."""
    first, second = _probe_readings(text)
    if first is None or second is None:
        return False
    shift = _PROBE_BASES[1] - _PROBE_BASES[0]
    return abs(second - first - shift) <= _MONTH_SLACK


def absolute_time(text: str) -> datetime | None:
    """The UTC time an absolute "Updated" text names, or None if it names no calendar date
    ("31 February 2020"), only part of one, or a relative time."""
    first, second = _probe_readings(text)
    if first is None or first != second:
        return None
    return first.replace(tzinfo=UTC)


def relative_time(text: str, crawl_time: datetime) -> datetime | None:
    """Resolve a relative "Updated" text against the crawl time."""
    parsed = _parse(text, crawl_time.astimezone(UTC).replace(tzinfo=None))
    return parsed.replace(tzinfo=UTC) if parsed else None


def is_plausible(moment: datetime) -> bool:
    """A time a page of the site can show: not before the site's first day, not in 2100 or
    later (a typo such as 2125)."""
    return SITE_FIRST_DAY <= moment < LATEST_PLAUSIBLE_UPDATE


def infer_crawl_time(dates: Iterable[datetime]) -> datetime | None:
    """The end of the day of the newest plausible absolute update date, or None without any.

    A page shows an absolute date only for an update made before the crawl, so the crawl
    happened on or after the newest such day, however old the dump's other pages are; the
    end of that day keeps every relative time the dump shows on that day too.
    """
    plausible = [d for d in dates if is_plausible(d)]
    if not plausible:
        return None
    newest = max(plausible)
    return newest.replace(hour=0, minute=0, second=0) + timedelta(days=1, seconds=-1)


def read_update(text: str, crawl_time: datetime | None, inferred: bool) -> UpdateTime:
    """Read an "Updated ..." text against the dump's crawl time (`inferred`: not given).

    Implausible: no calendar date ("31 February 2020"), a relative time too far back to
    compute, before the site's first day or in 2100 or later, or after the crawl time.
    A relative time without a crawl time stays relative, with no time.
    """
    if is_relative(text):
        if crawl_time is None:
            return UpdateTime(RELATIVE)
        kind, moment = RELATIVE, relative_time(text, crawl_time)
    else:
        kind, moment = ABSOLUTE, absolute_time(text)
    if (
        moment is None
        or not is_plausible(moment)
        or (crawl_time is not None and moment > crawl_time)
    ):
        return UpdateTime(IMPLAUSIBLE)
    return UpdateTime(kind, moment, inferred and kind == RELATIVE)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime(ISO_FORMAT) if moment else None


def parse_iso(text: str) -> datetime:
    """Read a user-given timestamp (ISO 8601; UTC when it names no zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
