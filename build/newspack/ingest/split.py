"""Stage 2, split: cut a dump's lines into article blocks, found from header structure.

Blank-line counts cannot split articles (inline captions follow up to three blank lines), so
an article starts where a header starts: a short link, or a title line followed by header
lines that mark a header (the title again, Short Url / Updated / Follow, a gallery's photo
counters, or bullets under a headline). Between the title and the bullets a page may show
its header lines in any order, repeated or missing; a caption or a byline is placed by the
header lines around it. Each block is returned with the role of every header line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from newspack.config import MAX_LINE_CHARS
from newspack.ingest.read import Line
from newspack.rules import boilerplate_reasons

MAX_TITLE_CHARS = 300
MAX_BYLINE_WORDS = 6
# How far below a line its repeat is looked for: a header runs to a dozen lines, a gallery
# of ten photos to forty.
MAX_HEADER_LINES = 60
_SHORTLINK = re.compile(r"https?://arab\.news/\S+")
_UPDATED = re.compile(r"Updated\s+(?P<when>.+)")
_BULLET = re.compile(r"(?:•|- )\s*(?P<text>.*\S)")
_COUNTER = re.compile(r"\d+\s*/\s*\d+")
_SENTENCE_END = re.compile(r"[.!?:;”\"’)]$")
_NOT_HEADLINE_END = re.compile(r"[.:;]$")


class Kind(StrEnum):
    """What a line is on its own, before its place in an article is known."""

    BLANK = "blank"
    BOILERPLATE = "boilerplate"  # Short Url, Follow
    UPDATED = "updated"
    BULLET = "bullet"
    SHORTLINK = "shortlink"
    COUNTER = "counter"  # "1 / 5" in a photo gallery
    TEXT = "text"
    OVERLONG = "overlong"  # longer than any text a page shows: quarantined whole


class HeaderRole(StrEnum):
    """What a header line is in its article."""

    TITLE = "title"
    TITLE_REPEAT = "title_repeat"
    TITLE_VARIANT = "title_variant"  # a gallery's title variant, above a photo counter
    CAPTION = "caption"
    COUNTER = "counter"
    BOILERPLATE = "boilerplate"
    UPDATED = "updated"
    BYLINE = "byline"
    SHORTLINK = "shortlink"
    BULLET = "bullet"
    BLANK = "blank"


@dataclass(frozen=True)
class DumpLine:
    """A line with its whitespace-trimmed text and kind."""

    number: int
    text: str
    kind: Kind
    encoding_status: str
    raw: str

    @cached_property  # compared with the titles for every line a header might start at
    def key(self) -> str:
        """Comparison form: repeated title lines may differ in spacing."""
        return " ".join(self.text.split())


@dataclass
class Block:
    """One article's lines: header lines with their roles, then body lines."""

    index: int  # 1-based among the dump's blocks
    header: list[tuple[DumpLine, HeaderRole]]
    body: list[DumpLine]
    layout: str

    @property
    def lines(self) -> list[DumpLine]:
        return [line for line, _ in self.header] + self.body


# Header lines that mark a header by themselves; a caption or a byline is known only by
# the header around it (a paragraph and an inline caption look the same).
_MARKING_ROLES = frozenset(
    {
        HeaderRole.TITLE_REPEAT,
        HeaderRole.TITLE_VARIANT,
        HeaderRole.COUNTER,
        HeaderRole.UPDATED,
        HeaderRole.BOILERPLATE,
        HeaderRole.BULLET,
    }
)


@dataclass
class SplitDump:
    blocks: list[Block]
    leading: list[DumpLine] = field(default_factory=list)  # lines before the first article


def clean_text(text: str) -> str:
    """Published form of a line: no-break spaces as spaces, no surrounding whitespace.

    Pages put no-break spaces inside names ("Xi\u00a0Jinping"); as plain spaces the text can
    be searched as it reads.
    """
    return text.replace("\u00a0", " ").strip()


def classify(line: Line) -> DumpLine:
    text = clean_text(line.text)
    if not text:
        kind = Kind.BLANK
    elif len(text) > MAX_LINE_CHARS:
        kind = Kind.OVERLONG
    elif text in boilerplate_reasons():
        kind = Kind.BOILERPLATE
    elif _UPDATED.fullmatch(text):
        kind = Kind.UPDATED
    elif _SHORTLINK.fullmatch(text):
        kind = Kind.SHORTLINK
    elif _COUNTER.fullmatch(text):
        kind = Kind.COUNTER
    elif _BULLET.fullmatch(text):
        kind = Kind.BULLET
    else:
        kind = Kind.TEXT
    return DumpLine(line.number, text, kind, line.encoding_status, line.raw)


def bullet_text(line: DumpLine) -> str:
    match = _BULLET.fullmatch(line.text)
    return match["text"] if match else line.text


def updated_text(line: DumpLine) -> str:
    match = _UPDATED.fullmatch(line.text)
    return match["when"].strip() if match else line.text


def _is_marker(line: DumpLine) -> bool:
    return line.kind in (Kind.BOILERPLATE, Kind.UPDATED)


def _is_title_like(line: DumpLine) -> bool:
    return line.kind is Kind.TEXT and len(line.text) <= MAX_TITLE_CHARS


def _is_credited_caption(line: DumpLine) -> bool:
    from newspack.ingest.parse import split_credit  # the credit rule lives with the parser

    return line.kind is Kind.TEXT and split_credit(line.text)[1] is not None


def _is_dateline_paragraph(line: DumpLine) -> bool:
    from newspack.ingest.parse import parse_dateline  # the dateline rule lives with the parser

    return parse_dateline(line.text) is not None


def _could_be_headline(line: DumpLine) -> bool:
    """A title-like line that reads as a headline: headlines end in no full stop, colon or
    semicolon, and carry no photo credit (a caption or a paragraph does)."""
    return (
        _is_title_like(line)
        and not _NOT_HEADLINE_END.search(line.text)
        and not _is_credited_caption(line)
    )


def _next_filled(lines: Sequence[DumpLine], j: int) -> int | None:
    """The index of the first line after line j that is not blank, if at most one blank
    line is between (two blank lines end a header)."""
    for k in (j + 1, j + 2):
        if k >= len(lines):
            return None
        if lines[k].kind is not Kind.BLANK:
            return k
    return None


def _is_headline(lines: Sequence[DumpLine], j: int) -> bool:
    """A headline right above the bullets (one blank line between at most)."""
    k = _next_filled(lines, j)
    return _could_be_headline(lines[j]) and k is not None and lines[k].kind is Kind.BULLET


def _is_title_variant(lines: Sequence[DumpLine], j: int) -> bool:
    """A gallery's title variant ("Special: ..."), shown above each photo counter."""
    after = lines[j + 1] if j + 1 < len(lines) else None
    return _is_title_like(lines[j]) and after is not None and after.kind is Kind.COUNTER


def _header_line_follows(lines: Sequence[DumpLine], j: int, titles: set[str]) -> bool:
    """True when a line that marks a header follows line j: a marker, counter or bullet,
    the title again, a gallery's title variant, or a credited caption."""
    k = _next_filled(lines, j)
    if k is None:
        return False
    following = lines[k]
    return (
        following.kind in (Kind.BOILERPLATE, Kind.UPDATED, Kind.COUNTER, Kind.BULLET)
        or following.key in titles
        or _is_title_variant(lines, k)
        or (_is_credited_caption(following) and not _is_dateline_paragraph(following))
    )


def _is_repeated_headline(lines: Sequence[DumpLine], j: int) -> bool:
    """A headline shown again further down the header: the page's title, so what came
    before it (e.g. a junk line, the site's name mangled) was no title."""
    if not _could_be_headline(lines[j]):
        return False
    for k in range(j + 1, min(j + MAX_HEADER_LINES, len(lines))):
        if lines[k].kind is Kind.BLANK and k + 1 < len(lines) and lines[k + 1].kind is Kind.BLANK:
            return False  # two blank lines end a header
        if lines[k].key == lines[j].key:
            return True
    return False


def _is_caption(lines: Sequence[DumpLine], j: int, titles: set[str]) -> bool:
    """A photo caption among the header lines: credited, or followed by more of the header
    (an uncredited line with nothing of the header after it is the body's first paragraph).
    A dateline paragraph, or a headline shown again below, is never a caption."""
    line = lines[j]
    return (
        not _is_dateline_paragraph(line)
        and not _is_repeated_headline(lines, j)
        and (_is_credited_caption(line) or _header_line_follows(lines, j, titles))
    )


@dataclass
class _HeaderReading:
    """A header being read line by line: its roles so far and the titles it has seen."""

    lines: Sequence[DumpLine]
    j: int  # the next line to read
    roles: list[HeaderRole] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)
    bare: bool = False  # the page starts with its short link
    saw_short_url: bool = False

    def take(self, role: HeaderRole) -> None:
        line = self.lines[self.j]
        if role in (HeaderRole.TITLE, HeaderRole.TITLE_REPEAT):
            self.titles.add(line.key)
        self.saw_short_url |= boilerplate_reasons().get(line.text) == "short_url_label"
        self.roles.append(role)
        self.j += 1

    def line(self, offset: int = 0) -> DumpLine | None:
        k = self.j + offset
        return self.lines[k] if 0 <= k < len(self.lines) else None


def _read_shortlink(h: _HeaderReading) -> None:
    """A bare page starts with its short link, then blank lines."""
    if h.lines[h.j].kind is Kind.SHORTLINK:
        h.bare = True
        h.take(HeaderRole.SHORTLINK)
        while (line := h.line()) and line.kind is Kind.BLANK:
            h.take(HeaderRole.BLANK)


def _is_byline(h: _HeaderReading, line: DumpLine) -> bool:
    return (
        bool(h.roles)
        and h.roles[-1] is HeaderRole.UPDATED
        and len(line.text.split()) <= MAX_BYLINE_WORDS
        and not _SENTENCE_END.search(line.text)
        and line.key not in h.titles
    )


def _text_role(h: _HeaderReading) -> HeaderRole | None:
    """The role of a text line among the header lines, or None: the body starts there."""
    line, before = h.line(), h.line(-1)
    if _is_title_variant(h.lines, h.j):
        return HeaderRole.TITLE_VARIANT
    if line.key in h.titles:
        return HeaderRole.TITLE_REPEAT
    if before is not None and before.kind is Kind.COUNTER:
        return HeaderRole.CAPTION  # a gallery photo's caption
    if _is_byline(h, line):  # before the headline test: a byline may sit above the bullets
        return HeaderRole.BYLINE
    if _is_headline(h.lines, h.j):
        return HeaderRole.TITLE_REPEAT
    if _is_caption(h.lines, h.j, h.titles):
        return HeaderRole.CAPTION
    return None


def _furniture_role(h: _HeaderReading) -> HeaderRole | None:
    """The role of the next line between the title and the bullets, or None at their end."""
    line = h.line()
    if line is None or line.kind in (Kind.BULLET, Kind.SHORTLINK, Kind.OVERLONG):
        return None  # the bullets are read next; a short link starts another page
    if line.kind is Kind.BLANK:
        after = h.line(1)
        return None if after is None or after.kind is Kind.BLANK else HeaderRole.BLANK
    if line.kind is Kind.UPDATED:
        return HeaderRole.UPDATED
    if line.kind is Kind.BOILERPLATE:
        return HeaderRole.BOILERPLATE
    if line.kind is Kind.COUNTER:
        return HeaderRole.COUNTER
    return _text_role(h)


def _read_furniture(h: _HeaderReading) -> None:
    """What a page shows between its title and its bullets, in any order: the title again,
    photo captions, gallery counters and title variants, Short Url, Updated, a byline,
    Follow, single blank lines. Blank lines after the last of them belong to the body."""
    if not (h.roles and h.roles[-1] is HeaderRole.TITLE):
        return
    while (role := _furniture_role(h)) is not None:
        h.take(role)
    while h.roles[-1] is HeaderRole.BLANK:
        h.roles.pop()
        h.j -= 1


def _read_title(h: _HeaderReading) -> None:
    if (line := h.line()) and _is_title_like(line):
        h.take(HeaderRole.TITLE)


def _read_bullets(h: _HeaderReading) -> None:
    """The bullets, one blank line above them at most."""
    line, after = h.line(), h.line(1)
    if h.roles and line and line.kind is Kind.BLANK and after and after.kind is Kind.BULLET:
        h.take(HeaderRole.BLANK)
    while (line := h.line()) and line.kind is Kind.BULLET:
        h.take(HeaderRole.BULLET)


def read_header(lines: Sequence[DumpLine], start: int) -> tuple[list[HeaderRole], str]:
    """Roles of the header lines from `start`, and the layout; the header is len(roles) long."""
    h = _HeaderReading(lines, start)
    _read_shortlink(h)
    _read_title(h)
    _read_furniture(h)
    _read_bullets(h)
    return h.roles, _layout(h)


def _layout(h: _HeaderReading) -> str:
    """The layout of format-notes.md the header shows."""
    roles = set(h.roles)
    if HeaderRole.TITLE not in roles:
        return "headerless"
    if HeaderRole.COUNTER in roles:  # before bare: it says where the photos were shown
        return "gallery"
    if h.bare:
        return "bare"
    if not h.saw_short_url:
        return "plain"
    return "standard" if HeaderRole.UPDATED in roles else "amp"


def is_article_start(lines: Sequence[DumpLine], i: int) -> bool:
    """True when line i opens an article header."""
    line = lines[i]
    if line.kind is Kind.SHORTLINK:
        # Bare layout: the short link comes first, then the title (or, headerless, bullets).
        following = next((x for x in lines[i + 1 :] if x.kind is not Kind.BLANK), None)
        return following is not None and (
            _is_title_like(following) or following.kind is Kind.BULLET
        )
    if line.kind is Kind.BULLET:
        return _is_headerless_start(lines, i)
    if not _is_title_like(line):
        return False
    roles, _ = read_header(lines, i)
    marks = set(roles) & _MARKING_ROLES
    # Bullets alone mark a header only under a line that reads as a headline: a paragraph
    # ending in a colon or full stop may be followed by a list.
    return bool(marks - {HeaderRole.BULLET}) or (bool(marks) and _could_be_headline(line))


def _is_headerless_start(lines: Sequence[DumpLine], i: int) -> bool:
    """Bullets after a body's last sentence, then a dateline paragraph: a page whose title
    block was lost, not more of the article before it."""
    before = next((x for x in reversed(lines[:i]) if x.kind is not Kind.BLANK), None)
    if before is not None and (
        before.kind is not Kind.TEXT or not _SENTENCE_END.search(before.text)
    ):
        return False
    j = i
    while j < len(lines) and lines[j].kind is Kind.BULLET:
        j += 1
    after = next((x for x in lines[j:] if x.kind is not Kind.BLANK), None)
    return after is not None and after.kind is Kind.TEXT and _is_dateline_paragraph(after)


def split_dump(dump_lines: Sequence[Line]) -> SplitDump:
    """Cut a dump into article blocks; lines before the first header are returned apart."""
    lines = [classify(line) for line in dump_lines]
    starts = []
    i = 0
    while i < len(lines):
        if is_article_start(lines, i):
            starts.append(i)
            roles, _ = read_header(lines, i)
            i += max(len(roles), 1)
        else:
            i += 1
    if not starts:
        return SplitDump(blocks=[], leading=lines)
    blocks = []
    for index, (start, end) in enumerate(zip(starts, [*starts[1:], len(lines)], strict=True), 1):
        roles, layout = read_header(lines, start)
        header = list(zip(lines[start : start + len(roles)], roles, strict=True))
        blocks.append(Block(index, header, lines[start + len(roles) : end], layout))
    return SplitDump(blocks=blocks, leading=lines[: starts[0]])
