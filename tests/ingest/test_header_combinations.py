"""Split stage: an article is found from whatever part of its header is present. Every
combination of missing header lines (title repeat, photo caption, Short Url, Updated,
Follow) of a real article, after another real article: two articles, the right title, the
caption never taken for a title, and the next article never glued to the one before."""

from __future__ import annotations

from itertools import combinations

import pytest

from layouts import _body, _bullets, dump_text, kazakhstan_article, munir_article
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_bytes

KAZAKH, MUNIR = kazakhstan_article(), munir_article()
OPTIONAL = ("caption", "short_url", "updated", "follow", "title_repeat")


def _header(article, missing: set[str]) -> list[str]:
    """The header as a page shows it: title, then the caption and markers that are present
    (a blank line before and after them), the title again, then the bullets and the body."""
    middle = [article.caption] if "caption" not in missing and article.caption else []
    middle += [
        text
        for name, text in (
            ("short_url", "Short Url"),
            ("updated", "Updated 09 September 2025"),
            ("follow", "Follow"),
        )
        if name not in missing
    ]
    lines = [article.title, "", *middle, *([""] if middle else [])]
    if "title_repeat" not in missing:
        lines += [article.title, ""]
    return [*lines, *_bullets(article), "", *_body(article, [""])]


COMBINATIONS = [set(c) for n in range(len(OPTIONAL) + 1) for c in combinations(OPTIONAL, n)]


@pytest.mark.parametrize("missing", COMBINATIONS, ids=lambda m: "-".join(sorted(m)) or "none")
def test_an_article_is_found_whatever_header_lines_are_missing(missing):
    first = _header(MUNIR, set())
    second = _header(KAZAKH, missing)
    text = dump_text(first, second)
    versions = parse_dump(read_bytes(text.encode(), "003_cafe.txt")).versions
    assert [v.title for v in versions] == [MUNIR.title, KAZAKH.title]
    assert KAZAKH.paragraphs[-1] not in [p.text for p in versions[0].paragraphs]
    if "caption" not in missing:
        assert [p.caption for p in versions[1].photos] == [KAZAKH.caption.rsplit(" (", 1)[0]]
