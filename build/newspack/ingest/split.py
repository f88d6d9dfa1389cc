"""Stage 2, split: cut a dump's lines into article blocks, found from header structure.

Blank-line counts cannot split articles (inline captions follow up to three blank lines), so
an article starts where a header starts: a short link, or a title line followed, through
title repeats, captions and photo counters, by a Short Url / Updated / Follow line, or
repeated after one blank line. Each block is returned with the role of every header line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from newspack.config import MAX_LINE_CHARS
from newspack.ingest.read import Line
from newspack.rules import boilerplate_reasons

MAX_TITLE_CHARS = 300
MAX_BYLINE_WORDS = 6
_SHORTLINK = re.compile(r"https?://arab\.news/\S+")
_UPDATED = re.compile(r"Updated\s+(?P<when>.+)")
_BULLET = re.compile(r"(?:•|- )\s*(?P<text>.*\S)")
_COUNTER = re.compile(r"\d+\s*/\s*\d+")
_SENTENCE_END = re.compile(r"[.!?:;”\"’)]$")


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

    @property
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


def _is_headline(lines: Sequence[DumpLine], j: int) -> bool:
    """A title-like line right above the bullets (one blank line between at most)."""
    if not _is_title_like(lines[j]):
        return False
    following = list(lines[j + 1 : j + 3])
    if following and following[0].kind is Kind.BLANK:
        following = following[1:]
    return bool(following) and following[0].kind is Kind.BULLET


def _header_text_role(lines: Sequence[DumpLine], j: int, titles: set[str]) -> HeaderRole | None:
    """HeaderRole of a text line in the part of a header before its markers, or None if not one."""
    line = lines[j]
    if line.key in titles:
        return HeaderRole.TITLE_REPEAT
    after = lines[j + 1] if j + 1 < len(lines) else None
    before = lines[j - 1] if j > 0 else None
    if after is not None and after.kind is Kind.COUNTER and _is_title_like(line):
        return HeaderRole.TITLE_REPEAT  # a gallery's title variant, shown above each photo counter
    if before is not None and before.kind is Kind.COUNTER:
        return HeaderRole.CAPTION  # a gallery photo's caption
    if after is not None and _is_marker(after):
        return HeaderRole.CAPTION  # the lead photo's caption sits right above Short Url / Updated
    if _is_credited_caption(line) and _blank_then_title_or_bullets(lines, j + 1, titles):
        return HeaderRole.CAPTION  # a header without markers: title, caption, title or bullets
    return None


def _is_credited_caption(line: DumpLine) -> bool:
    from newspack.ingest.parse import split_credit  # the credit rule lives with the parser

    return line.kind is Kind.TEXT and split_credit(line.text)[1] is not None


def _blank_then_title_or_bullets(lines: Sequence[DumpLine], j: int, titles: set[str]) -> bool:
    while j < len(lines) and lines[j].kind is Kind.BLANK:
        j += 1
    return j < len(lines) and (lines[j].kind is Kind.BULLET or lines[j].key in titles)


def _pre_marker_roles(
    lines: Sequence[DumpLine], start: int, titles: set[str]
) -> tuple[list[HeaderRole], bool]:
    """Roles of the lines after a title up to its first marker; (roles, marker reached)."""
    roles: list[HeaderRole] = []
    j = start + 1
    while j < len(lines):
        line = lines[j]
        if _is_marker(line):
            return roles, True
        if line.kind is Kind.BLANK:
            if j + 1 < len(lines) and lines[j + 1].kind is Kind.BLANK:
                break  # a header never holds two blank lines in a row
            roles.append(HeaderRole.BLANK)
        elif line.kind is Kind.COUNTER:
            roles.append(HeaderRole.COUNTER)
        elif line.kind is Kind.TEXT and (role := _header_text_role(lines, j, titles)):
            roles.append(role)
        else:
            break
        j += 1
    return roles, False


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
    roles, marker_reached = _pre_marker_roles(lines, i, {line.key})
    if marker_reached or HeaderRole.CAPTION in roles or _is_headline(lines, i):
        return True  # markers; a credited caption; or bullets right under the title
    # Plain layout: no markers, but the title is repeated after one blank line.
    return roles[:2] == [HeaderRole.BLANK, HeaderRole.TITLE_REPEAT] or roles[:1] == [
        HeaderRole.TITLE_REPEAT
    ]


def _is_headerless_start(lines: Sequence[DumpLine], i: int) -> bool:
    """Bullets after a body's last sentence, then a dateline paragraph: a page whose title
    block was lost, not more of the article before it."""
    from newspack.ingest.parse import parse_dateline  # the dateline rule lives with the parser

    before = next((x for x in reversed(lines[:i]) if x.kind is not Kind.BLANK), None)
    if before is not None and (
        before.kind is not Kind.TEXT or not _SENTENCE_END.search(before.text)
    ):
        return False
    j = i
    while j < len(lines) and lines[j].kind is Kind.BULLET:
        j += 1
    after = next((x for x in lines[j:] if x.kind is not Kind.BLANK), None)
    return after is not None and after.kind is Kind.TEXT and parse_dateline(after.text) is not None


@dataclass
class _HeaderReading:
    """A header being read line by line: its roles so far and the titles it has seen."""

    lines: Sequence[DumpLine]
    j: int  # the next line to read
    roles: list[HeaderRole] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)
    layout: str = "standard"
    saw_updated: bool = False
    saw_short_url: bool = False

    def take(self, role: HeaderRole) -> None:
        self.roles.append(role)
        self.j += 1

    def line(self, offset: int = 0) -> DumpLine | None:
        k = self.j + offset
        return self.lines[k] if k < len(self.lines) else None


def _read_shortlink(h: _HeaderReading) -> None:
    """A bare page starts with its short link, then blank lines."""
    if h.lines[h.j].kind is Kind.SHORTLINK:
        h.layout = "bare"
        h.take(HeaderRole.SHORTLINK)
        while (line := h.line()) and line.kind is Kind.BLANK:
            h.take(HeaderRole.BLANK)


def _read_title(h: _HeaderReading) -> None:
    """The title and what comes between it and the markers (a gallery's counter, repeats)."""
    if not ((line := h.line()) and _is_title_like(line)):
        return
    h.titles = {line.key}
    h.roles.append(HeaderRole.TITLE)
    pre, _ = _pre_marker_roles(h.lines, h.j, h.titles)
    h.roles += pre
    h.j += 1 + len(pre)
    if HeaderRole.COUNTER in pre:
        h.layout = "gallery"
    repeats = zip(range(h.j - len(pre), h.j), pre, strict=True)
    h.titles |= {h.lines[k].key for k, r in repeats if r is HeaderRole.TITLE_REPEAT}


def _is_byline(h: _HeaderReading, line: DumpLine) -> bool:
    return (
        line.kind is Kind.TEXT
        and bool(h.roles)
        and h.roles[-1] is HeaderRole.UPDATED
        and len(line.text.split()) <= MAX_BYLINE_WORDS
        and not _SENTENCE_END.search(line.text)
        and line.key not in h.titles
    )


def _read_markers(h: _HeaderReading) -> None:
    """The "Updated ..." line, short-link labels and other markers, and a byline."""
    while line := h.line():
        if _is_marker(line):
            h.saw_short_url |= boilerplate_reasons().get(line.text) == "short_url_label"
            h.saw_updated |= line.kind is Kind.UPDATED
            updated = line.kind is Kind.UPDATED
            h.take(HeaderRole.UPDATED if updated else HeaderRole.BOILERPLATE)
        elif _is_byline(h, line):
            h.take(HeaderRole.BYLINE)
        else:
            return


def _read_repeats(h: _HeaderReading) -> None:
    """After the markers: blank lines and the title repeated, then the bullets."""
    while line := h.line():
        after = h.line(1)
        if (
            line.kind is Kind.BLANK
            and after is not None
            and (
                after.kind is Kind.BULLET
                or (
                    after.kind is Kind.TEXT
                    and (after.key in h.titles or _is_headline(h.lines, h.j + 1))
                )
            )
        ):
            h.take(HeaderRole.BLANK)
        elif line.kind is Kind.TEXT and (line.key in h.titles or _is_headline(h.lines, h.j)):
            h.titles.add(line.key)
            h.take(HeaderRole.TITLE_REPEAT)
        else:
            break
    while (line := h.line()) and line.kind is Kind.BULLET:
        h.take(HeaderRole.BULLET)


def read_header(lines: Sequence[DumpLine], start: int) -> tuple[list[HeaderRole], str]:
    """Roles of the header lines from `start`, and the layout; the header is len(roles) long."""
    h = _HeaderReading(lines, start)
    _read_shortlink(h)
    _read_title(h)
    _read_markers(h)
    _read_repeats(h)
    if HeaderRole.TITLE not in h.roles:
        h.layout = "headerless"
    elif h.layout == "standard" and not h.saw_short_url:
        h.layout = "plain"
    elif h.layout == "standard" and not h.saw_updated:
        h.layout = "amp"
    return h.roles, h.layout


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
