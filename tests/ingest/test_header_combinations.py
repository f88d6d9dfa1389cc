"""Split and parse stages: an article is found from whatever part of its header is present,
in whatever order. The header lines of format-notes.md (title repeats, captions credited or
not, Short Url, Updated, byline, Follow, galleries of any length, blank lines, a short link,
bullets) are generated in every order of every subset, and drawn by hypothesis with repeats,
around real articles: the right articles, titles, captions and credits, bullets and body,
the caption never taken for a title, the next article never glued to the one before, and
every line accounted for once, none quarantined."""

from __future__ import annotations

import os
from dataclasses import replace
from itertools import chain, combinations, permutations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from layouts import (
    CAPTION_PARTS,
    MARKER_PARTS,
    dump_text,
    expected_photos,
    kazakhstan_article,
    munir_article,
    page,
    render,
)
from newspack.ingest.parse import QUARANTINED, parse_dump
from newspack.ingest.read import read_bytes

KAZAKH = kazakhstan_article()
# The neighbours: a real article's header and its first paragraphs (reading is the cost).
MUNIR = replace(munir_article(), paragraphs=munir_article().paragraphs[:4])
# Parts whose presence alone marks a header (a caption alone does not: a paragraph and an
# inline caption look the same).
ANCHORS = {"title", "spaced_title", *MARKER_PARTS}
UNCREDITED = {"caption_uncredited", "caption_positional"}


def _check(parts: list[str], *, link: str | None = None, bullet: str | None = "  • ", blanks=True):
    """Parse MUNIR, then KAZAKH with this header, then MUNIR, and check the middle article."""
    middle = page(KAZAKH, parts, link=link, bullet=bullet, blanks=blanks)
    text = dump_text(render(MUNIR, "dump002"), middle, render(MUNIR, "dump002"))
    parsed = parse_dump(read_bytes(text.encode(), "003_cafe.txt"))
    assert [v.title for v in parsed.versions] == [MUNIR.title, KAZAKH.title, MUNIR.title]
    version = parsed.versions[1]
    assert [(p.caption, p.credit) for p in version.photos] == expected_photos(KAZAKH, parts)
    assert {p.placement for p in version.photos} <= {"gallery" if _gallery(parts) else "lead"}
    assert [text for text, _ in version.bullets] == (list(KAZAKH.bullets) if bullet else [])
    assert [p.text for p in version.paragraphs] == list(KAZAKH.paragraphs)
    assert version.updated_raw == ("09 September 2025" if "updated" in parts else None)
    assert version.byline == ("Arab News" if "byline" in parts else None)
    assert version.short_url == link
    assert version.layout == _layout(parts, link)
    uses = [*parsed.leading, *(u for v in parsed.versions for u in v.uses)]
    assert sorted(u.line.number for u in uses) == list(range(1, len(parsed.dump.lines) + 1))
    assert [u.line.text for u in uses if u.status == QUARANTINED] == []


def _gallery(parts: list[str]) -> bool:
    return any(part.startswith("gallery") for part in parts)


def _layout(parts: list[str], link: str | None) -> str:
    if _gallery(parts):
        return "gallery"
    if link:
        return "bare"
    if "short_url" not in parts:
        return "plain"
    return "standard" if "updated" in parts else "amp"


# --- every order of every subset of the one-line parts, the seed dumps' blank lines -------

ORDERED = ("caption", "short_url", "updated", "follow", "title")
ARRANGEMENTS = [
    list(order)
    for order in chain.from_iterable(
        permutations(subset) for n in range(len(ORDERED) + 1) for subset in combinations(ORDERED, n)
    )
]


@pytest.mark.parametrize("order", ARRANGEMENTS, ids=lambda order: "-".join(order) or "none")
def test_an_article_is_found_whatever_header_lines_are_missing_or_reordered(order):
    # As on the seed dumps' pages: a blank line after the title and before the bullets.
    _check(_as_a_page_shows_them(["blank", *order, "blank"], bullets=True, blanks=True))


# --- drawn arrangements: repeats, galleries, bylines, captions of every kind ------------

PART_NAMES = ["blank", "title", "spaced_title", *CAPTION_PARTS, *MARKER_PARTS, "byline", "gallery"]
SETTINGS = settings(
    max_examples=int(os.environ.get("NEWSPACK_PROPERTY_EXAMPLES", "12")) * 10,
    deadline=None,
    derandomize=True,  # the same arrangements every run; `nox -s fuzz` draws more of them
    suppress_health_check=[HealthCheck.too_slow],
)


def _as_a_page_shows_them(parts: list[str], *, bullets: bool, blanks: bool) -> list[str]:
    """The parts as a page can show them: one blank line at a time (two end an article),
    a byline only right after the update time, one update time, and a caption without a
    credit only where a header line follows it (else it is a paragraph)."""
    shown: list[str] = []
    for part in parts:
        previous = shown[-1] if shown else "title"
        if (
            (part == "blank" and (previous == "blank" or not blanks))
            or (part == "byline" and previous != "updated")
            or (part == "updated" and "updated" in shown)
        ):
            continue
        shown.append(part)
    while shown and shown[-1] == "blank" and not bullets:
        shown.pop()
    return [
        part
        for i, part in enumerate(shown)
        if part not in UNCREDITED or _header_line_follows(shown[i + 1 :], bullets)
    ]


def _header_line_follows(rest: list[str], bullets: bool) -> bool:
    following = next((part for part in rest if part != "blank"), None)
    if following is None:
        return bullets
    return (
        following in ANCHORS
        or following.startswith("gallery")
        or following in ("caption", "caption_unknown_credit")
    )


@st.composite
def arrangements(draw):
    bullets = draw(st.booleans())
    blanks = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(PART_NAMES), max_size=10))
    parts = [f"gallery:{draw(st.integers(1, 6))}" if name == "gallery" else name for name in names]
    parts = _as_a_page_shows_them(parts, bullets=bullets, blanks=blanks)
    assume(bullets or set(parts) & ANCHORS or _gallery(parts))  # something marks a header
    link = draw(st.sampled_from([None, "https://arab.news/k7x2q"]))
    return parts, link, draw(st.sampled_from(["  • ", "- "])) if bullets else None, blanks


@SETTINGS
@given(arrangements())
def test_an_article_is_found_in_any_arrangement_of_its_header(arrangement):
    parts, link, bullet, blanks = arrangement
    _check(parts, link=link, bullet=bullet, blanks=blanks)
