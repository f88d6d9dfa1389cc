"""Stage 3, parse (sources): the texts of a version that later stages analyse.

Titles, bullets, body paragraphs and photo captions are where entities, figures and quotes
are looked for, in this reading order. This module is the one definition of that list: the
per-dump analysis (nlp/analyse.py), the enrichment (tables/) and validation all take it
from here, from parsed versions or from the published tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Source:
    """A text an entity can be mentioned in, with where it was published."""

    article_id: str
    version: int
    source: str  # title | bullet | paragraph | caption
    position: int
    text: str
    dump_id: str
    line: int

    def cut_word_start(self) -> int | None:
        """Where the last word of a body paragraph starts when the paragraph stops without
        punctuation, as a page cut off mid-word does ("... the economi"): that word may be
        a fragment, never an entity or a figure. None for a paragraph that ends properly."""
        text = self.text.rstrip()
        if self.source != "paragraph" or not text[-1:].isalnum():
            return None
        return len(text) - len(text.split()[-1])

    def placement(self) -> dict:
        """The columns that say where a row found in this text was published (mentions,
        figures and quotes share them)."""
        return {
            "article_id": self.article_id,
            "version": self.version,
            "source": self.source,
            "source_position": self.position,
            "dump_id": self.dump_id,
            "line": self.line,
        }


SOURCE_KINDS = ("title", "bullet", "paragraph", "caption")  # in reading order


def version_texts(parsed) -> list[tuple[str, int, str, int]]:
    """(source kind, position, text, line) of each text of one parsed version
    (parse.ParsedVersion), in reading order."""
    found = []
    if parsed.title_line is not None:  # a headerless article's title is its first bullet
        found.append(("title", 1, parsed.title, parsed.title_line))
    found += [
        ("bullet", position, text, line)
        for position, (text, line) in enumerate(parsed.bullets, start=1)
    ]
    found += [
        ("paragraph", p.position, p.text, p.line) for p in parsed.paragraphs if p.kind == "body"
    ]
    found += [("caption", p.position, p.caption, p.line) for p in parsed.photos]
    return found


def version_sources(article_id: str, version: int, parsed, dump_id: str) -> list[Source]:
    """The sources of one parsed version, placed in the corpus: what sources() finds in the
    published tables for that version (tests/tables/test_assemble.py)."""
    return [
        Source(article_id, version, kind, position, text, dump_id, line)
        for kind, position, text, line in version_texts(parsed)
    ]


def reading_order(src: Source) -> tuple:
    """The order of sources() over the tables: by kind, then version and position."""
    return (SOURCE_KINDS.index(src.source), src.article_id, src.version, src.position)


def sources(tables: dict[str, pd.DataFrame]) -> list[Source]:
    """Every title, bullet, body paragraph and caption of every version."""
    found = [
        Source(r.article_id, r.version, "title", 1, r.title, r.dump_id, r.title_line)
        for r in tables["article_versions"].itertuples()
        if not pd.isna(r.title_line)
    ]
    found += [
        Source(r.article_id, r.version, "bullet", r.position, r.text, r.dump_id, r.line)
        for r in tables["bullets"].itertuples()
    ]
    paragraphs = tables["paragraphs"]
    found += [
        Source(r.article_id, r.version, "paragraph", r.position, r.text, r.dump_id, r.line_start)
        for r in paragraphs[paragraphs["kind"] == "body"].itertuples()
    ]
    found += [
        Source(r.article_id, r.version, "caption", r.position, r.caption, r.dump_id, r.line)
        for r in tables["photos"].itertuples()
    ]
    return found


# --- spans ----------------------------------------------------------------------------
