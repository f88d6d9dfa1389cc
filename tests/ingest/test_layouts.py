"""Split and parse stages on every header layout of format-notes.md, rendered from real text."""

from __future__ import annotations

import pytest

from layouts import dump_text, kazakhstan_article, munir_article, render
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_bytes

KAZAKH = kazakhstan_article()
MUNIR = munir_article()


def parse_text(text: str, file: str = "005_0a1b2c3d.txt"):
    return parse_dump(read_bytes(text.encode("utf-8"), file))


def assert_article(version, article, *, caption=True, bullets=True):
    assert version.title == article.title
    assert [text for text, _ in version.bullets] == (list(article.bullets) if bullets else [])
    assert [p.text for p in version.paragraphs] == list(article.paragraphs)
    if caption:
        assert version.photos[0].caption.startswith("Kazakhstan’s Deputy Prime Minister")
        assert version.photos[0].credit == "MOFA"


@pytest.mark.parametrize(
    ("layout", "expected_layout", "has_caption"),
    [
        ("dump000", "standard", True),
        ("dump002", "standard", True),
        ("no_caption", "standard", False),
        ("amp", "amp", False),
        ("bare", "bare", False),
        ("spaced_titles", "standard", True),
        ("byline", "standard", True),
    ],
)
def test_layout_parses_back_to_the_article(layout, expected_layout, has_caption):
    parsed = parse_text(dump_text(render(KAZAKH, layout), render(MUNIR, "dump002")))
    assert [v.title for v in parsed.versions] == [KAZAKH.title, MUNIR.title]
    first = parsed.versions[0]
    assert first.layout == expected_layout
    assert_article(first, KAZAKH, caption=has_caption)
    assert_article(parsed.versions[1], MUNIR, caption=False)
    assert not parsed.leading


def test_plain_layout_without_short_url_or_bullets():
    parsed = parse_text(dump_text(render(KAZAKH, "plain"), render(MUNIR, "plain")))
    assert [v.layout for v in parsed.versions] == ["plain", "plain"]
    assert_article(parsed.versions[0], KAZAKH, caption=False, bullets=False)
    assert parsed.versions[0].updated_raw == "09 September 2025"


def test_gallery_keeps_each_photo_and_the_headline():
    parsed = parse_text(dump_text(render(KAZAKH, "gallery"), render(MUNIR, "dump002")))
    gallery = parsed.versions[0]
    assert gallery.layout == "gallery"
    assert gallery.title == KAZAKH.title
    assert [(p.placement, p.credit) for p in gallery.photos] == [("gallery", None)] * 3
    assert [p.caption[-4:] for p in gallery.photos] == ["A) 1", "A) 2", "A) 3"]
    reasons = [u.reason for u in gallery.uses[:9]]
    assert reasons.count("title_variant") == 3 and reasons.count("gallery_counter") == 3


def test_byline_after_updated_is_kept():
    parsed = parse_text(dump_text(render(KAZAKH, "byline")))
    assert parsed.versions[0].byline == "Arab News"


def test_bare_layout_keeps_the_short_link():
    parsed = parse_text(dump_text(render(KAZAKH, "bare"), render(MUNIR, "bare")))
    assert [v.short_url for v in parsed.versions] == ["https://arab.news/k7x2q"] * 2
    assert parsed.versions[1].title == MUNIR.title


def test_junk_first_line_is_quarantined_not_taken_for_a_title():
    text = "Ø§Ù„Ø¹Ø±Ø¨ÙŠØ©\n" + dump_text(render(KAZAKH, "dump002"))
    parsed = parse_text(text)
    assert parsed.versions[0].title == KAZAKH.title
    assert [(u.status, u.reason, u.line.number) for u in parsed.leading] == [
        ("quarantined", "junk_header", 1)
    ]


def test_headerless_start_is_quarantined_whole():
    body = "\n\n".join(MUNIR.paragraphs[:3])
    parsed = parse_text(body + "\n\n\n" + dump_text(render(KAZAKH, "dump002")))
    assert [v.title for v in parsed.versions] == [KAZAKH.title]
    quarantined = [u for u in parsed.leading if u.status == "quarantined"]
    assert [u.line.text for u in quarantined] == list(MUNIR.paragraphs[:3])
    assert {u.reason for u in quarantined} == {"headerless_fragment"}


def test_inline_caption_after_three_blank_lines_does_not_split_the_article():
    lines = render(MUNIR, "dump002")
    cut = lines.index(MUNIR.paragraphs[4])
    caption = "Pakistan's army chief Asim Munir in Rawalpindi on June 1, 2025. (AFP/ file)"
    lines[cut:cut] = ["", "", caption, ""]
    parsed = parse_text(dump_text(lines, render(KAZAKH, "dump002")))
    assert [v.title for v in parsed.versions] == [MUNIR.title, KAZAKH.title]
    photo = parsed.versions[0].photos[0]
    assert (photo.placement, photo.credit, photo.after_paragraph) == ("inline", "AFP/ file", 4)


def test_single_newline_paragraphs_are_separate_paragraphs():
    lines = render(KAZAKH, "dump002")
    start = lines.index(KAZAKH.paragraphs[0])
    single = [*lines[:start], *KAZAKH.paragraphs]
    parsed = parse_text(dump_text(single))
    assert [p.text for p in parsed.versions[0].paragraphs] == list(KAZAKH.paragraphs)


def test_truncated_last_article_is_flagged_and_kept():
    text = dump_text(render(MUNIR, "dump002"), render(KAZAKH, "dump002"))
    cut = text.index("Pakistan also offered to send a delegation to Ast") + 49
    parsed = parse_text(text[:cut] + "\n\n\n")
    last = parsed.versions[-1]
    assert last.is_truncated and not parsed.versions[0].is_truncated
    assert last.paragraphs[-1].text.endswith("delegation to Ast")
