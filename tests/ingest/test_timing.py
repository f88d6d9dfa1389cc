"""Parse stage, times: "Updated ..." texts and the dump's crawl time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newspack.ingest.timing import (
    absolute_time,
    implausible_dates,
    infer_crawl_time,
    is_relative,
    iso,
    relative_time,
)

CRAWL = datetime(2025, 9, 9, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20 sec ago", "2025-09-09T23:59:39Z"),
        ("5 sec ago", "2025-09-09T23:59:54Z"),
        ("3 min 55 sec ago", "2025-09-09T23:56:04Z"),
        ("59 min 9 sec ago", "2025-09-09T23:00:50Z"),
        ("13 min 4 sec ago", "2025-09-09T23:46:55Z"),
        ("16 min ago", "2025-09-09T23:43:59Z"),
        ("2 hours ago", "2025-09-09T21:59:59Z"),
        ("1 day ago", "2025-09-08T23:59:59Z"),
    ],
)
def test_relative_update_times(text, expected):
    assert is_relative(text)
    assert iso(relative_time(text, CRAWL)) == expected


def test_absolute_update_date():
    assert not is_relative("09 September 2025")
    assert iso(absolute_time("09 September 2025")) == "2025-09-09T00:00:00Z"


def _absolute(texts):
    return [t for t in map(absolute_time, texts) if t is not None]


def test_crawl_time_is_inferred_from_the_newest_absolute_date():
    texts = ["20 sec ago", "09 September 2025", "08 September 2025", "16 min ago"]
    assert iso(infer_crawl_time(_absolute(texts))) == "2025-09-09T23:59:59Z"
    assert infer_crawl_time(_absolute(["20 sec ago"])) is None


@pytest.mark.parametrize(
    "typo",
    ["09 September 0001", "09 September 2125", "09 September 1899", "09 September 2027"],
)
def test_an_implausible_date_never_becomes_the_crawl_time(typo):
    texts = ["09 September 2025", "08 September 2025", typo]
    assert implausible_dates(_absolute(texts)) == set(_absolute([typo]))
    assert iso(infer_crawl_time(_absolute(texts))) == "2025-09-09T23:59:59Z"


def test_absurd_relative_times_are_unreadable_not_errors():
    assert relative_time("99999999999 days ago", CRAWL) is None
