"""Parse stage, times: "Updated ..." texts and the dump's crawl time, on dumps of one day
and on archive crawls whose pages were updated years apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from layouts import dump_text, kazakhstan_article, munir_article, render
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_bytes
from newspack.ingest.timing import (
    UpdateTime,
    absolute_time,
    infer_crawl_time,
    is_relative,
    iso,
    read_update,
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
    "typo", ["09 September 0001", "09 September 2125", "09 September 1899", "19 April 1975"]
)
def test_an_implausible_date_never_becomes_the_crawl_time(typo):
    texts = ["09 September 2025", "08 September 2025", typo]
    assert iso(infer_crawl_time(_absolute(texts))) == "2025-09-09T23:59:59Z"
    assert read_update(typo, None, True).kind == "implausible"


def test_the_bounds_keep_every_date_the_site_can_show():
    # Arab News was founded on 20 April 1975; 2099 may be late but no calendar forbids it.
    for text in ("20 April 1975", "31 December 2099"):
        assert read_update(text, None, True) == UpdateTime("absolute", absolute_time(text))


@pytest.mark.parametrize(
    "text",
    [
        "31 February 2020",  # no calendar has these days
        "29 February 2021",
        "31 April 2020",
        "00 January 2020",  # dateparser would complete it from the reference day
        "32 December 2019",
        "February 2020",  # part of a date: which day is not known
        "09 Septembr 2025 at noon-ish",
        "99999999999 days ago",  # too far back to compute
        "tomorrow",  # after the crawl
    ],
)
def test_a_text_naming_no_possible_date_is_flagged_not_an_error(text):
    assert read_update(text, CRAWL, True).kind == "implausible"
    assert read_update(text, CRAWL, True).moment is None


def test_a_date_after_the_given_crawl_time_is_implausible():
    given = datetime(2025, 9, 8, 12, tzinfo=UTC)
    assert read_update("09 September 2025", given, False).kind == "implausible"
    assert read_update("08 September 2025", given, False).kind == "absolute"
    assert iso(read_update("3 hours 10 min ago", given, False).moment) == "2025-09-08T08:50:00Z"


# --- archive crawls: one dump, pages updated years apart ----------------------------------

ARCHIVE = [  # (header's "Updated" text, updated_kind, updated_at)
    ("Updated 05 December 2017", "absolute", "2017-12-05T00:00:00Z"),
    ("Updated 14 March 2020", "absolute", "2020-03-14T00:00:00Z"),
    ("Updated 3 hours 10 min ago", "relative", "2025-09-09T20:49:59Z"),
    ("Updated 09 September 2025", "absolute", "2025-09-09T00:00:00Z"),
]


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_an_archive_crawl_keeps_every_date_and_is_crawled_after_the_newest(order):
    pages = ARCHIVE if order == "oldest_first" else ARCHIVE[::-1]
    articles = [munir_article(), kazakhstan_article()] * 2
    text = dump_text(
        *(render(a, "dump002", u) for a, (u, _, _) in zip(articles, pages, strict=True))
    )
    parsed = parse_dump(read_bytes(text.encode(), "004_abcdef.txt"))
    assert (iso(parsed.crawl_time), parsed.crawl_time_source) == (
        "2025-09-09T23:59:59Z",
        "inferred",
    )
    read = [(v.updated_kind, v.updated_at, v.updated_at_inferred) for v in parsed.versions]
    assert read == [(kind, at, kind == "relative") for _, kind, at in pages]


def test_the_inferred_crawl_time_is_never_before_a_date_the_dump_shows():
    dates = ["05 December 2017", "14 March 2020", "01 January 2021", "09 September 2025"]
    for texts in (dates, dates[::-1]):
        assert iso(infer_crawl_time(_absolute(texts))) == "2025-09-09T23:59:59Z"


def test_absurd_relative_times_are_unreadable_not_errors():
    assert relative_time("99999999999 days ago", CRAWL) is None
