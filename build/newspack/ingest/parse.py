"""Stage 3, parse: turn each article block into a parsed version, and account for every line.

A block's header roles (from split) give the title, update time, short link, byline, lead
or gallery captions and bullets; its body gives paragraphs, ALL-CAPS section headings and
inline photo captions. Every line gets a LineUse saying where its text went or why not.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from newspack.ingest import timing
from newspack.ingest.read import Dump
from newspack.ingest.split import (
    Block,
    DumpLine,
    HeaderRole,
    Kind,
    bullet_text,
    split_dump,
    updated_text,
)
from newspack.rules import boilerplate_reasons, credit_words, derived

PUBLISHED, DROPPED, QUARANTINED = "published", "dropped", "quarantined"
VERSION, BULLETS, PARAGRAPHS, PHOTOS = "article_versions", "bullets", "paragraphs", "photos"

MAX_HEADING_WORDS = 12
MAX_JUNK_HEADER_CHARS = 60
MAX_JUNK_LINE_CHARS = 80

# Why lines are quarantined, in words for the user (the ledger and quarantine give the code).
QUARANTINE_REASONS = {
    "junk_header": "junk before the first article header (e.g. a mangled site name)",
    "headerless_fragment": "text before the first article header: an article without its "
    "header, which cannot be identified",
    "unrecognised_block": "a block of short lines without sentences after an article's text "
    "(not an article, paragraph, heading or caption)",
    "line_in_body": "a header line (Updated, Short Url, Follow, photo counter) inside an "
    "article's body",
    "line_too_long": "a line longer than any text a page shows (MAX_LINE_CHARS), kept whole "
    "here and never given to the NLP model",
    "refused_file": "the file is not a readable text dump",
}
_TERMINAL = re.compile(r"[.!?…”\"’)\]]$")
_TRAILING_PAREN = re.compile(r"(?P<caption>.*?)\s*\((?P<credit>[^()]{1,80})\)[\s.]*")
_TRAILING_AGENCY = re.compile(r"(?P<caption>.*[.!?])\s+(?P<credit>[A-Za-z]{2,10})")
_CREDIT_WORDS = re.compile(r"[\s/:,–-]+")
_SENTENCE_END = re.compile(r"[.!?…”\"’]$")


@derived  # asked for every line a header might start at
def _dateline_pattern() -> re.Pattern[str]:
    agencies = "|".join(sorted((a.upper() for a in credit_words().agencies), key=len, reverse=True))
    word = r"[A-Z][A-Za-z.'’]+"
    return re.compile(
        rf"(?P<dateline>(?:(?P<agency_before>{agencies})\s+)?"
        rf"(?P<city>{word}(?:(?:\s|\s?[–-]\s?){word}){{0,3}}?)"
        r"(?:\s*\[[^\]]{1,40}\])?"
        r"(?:,\s*[A-Z][a-z]{2,9}\.?\s+\d{1,2})?"
        r"(?:\s*\((?P<agency_after>[A-Za-z]{2,10})\))?)"
        r"(?:\s*:|\s+[–-])\s+"
    )


@dataclass(frozen=True)
class LineUse:
    """What became of one dump line."""

    line: DumpLine
    status: str
    reason: str
    table: str | None = None
    position: int | None = None  # row position within the version (None: the version row)


@dataclass
class Paragraph:
    position: int
    kind: str
    text: str
    line: int


@dataclass
class Photo:
    position: int
    placement: str
    caption: str
    credit: str | None
    after_paragraph: int | None
    line: int


@dataclass
class ParsedVersion:
    """One article block as parsed, before it is given an article identity."""

    block: int
    layout: str
    title: str
    title_line: int | None  # None for a headerless article
    line_start: int
    line_end: int
    short_url: str | None = None
    updated_raw: str | None = None
    updated_line: int | None = None
    updated_kind: str = "missing"
    updated_at: str | None = None
    updated_at_inferred: bool = False
    byline: str | None = None
    dateline: str | None = None
    dateline_city: str | None = None
    dateline_agency: str | None = None
    bullets: list[tuple[str, int]] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    is_truncated: bool = False
    uses: list[LineUse] = field(default_factory=list)

    def texts(self) -> list[str]:
        return (
            [self.title]
            + [text for text, _ in self.bullets]
            + [p.text for p in self.paragraphs]
            + [p.caption for p in self.photos]
        )

    @property
    def word_count(self) -> int:
        return sum(len(text.split()) for text in self.texts())

    @property
    def content_sha256(self) -> str:
        content = {
            "title": self.title,
            "bullets": [text for text, _ in self.bullets],
            "paragraphs": [[p.kind, p.text] for p in self.paragraphs],
            "photos": [[p.placement, p.caption, p.credit] for p in self.photos],
        }
        encoded = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()

    @property
    def lead_text(self) -> str | None:
        body = [p.text for p in self.paragraphs if p.kind == "body"]
        return body[0] if body else None


@dataclass
class ParsedDump:
    dump: Dump
    versions: list[ParsedVersion]
    leading: list[LineUse]
    crawl_time: datetime | None
    crawl_time_source: str


# --- text rules -----------------------------------------------------------------------


def is_heading(text: str) -> bool:
    """An ALL-CAPS section heading: short, all cased letters upper case, no full stop."""
    letters = [c for c in text if c.isalpha()]
    return (
        len(letters) >= 2
        and text.upper() == text
        and len(text.split()) <= MAX_HEADING_WORDS
        and not text.endswith(".")
    )


def _credit_words(credit: str) -> list[str]:
    return [w for w in _CREDIT_WORDS.split(credit) if w]


def _is_positional_note(words: list[str]) -> bool:
    """ "(R)", "(second left)": where someone stands in the photo, not who took it."""
    return all(w.casefold() in credit_words().positional_notes for w in words)


def _names_a_credit_word(words: list[str]) -> bool:
    return bool({w.casefold() for w in words} & credit_words().all_words)


def _is_name(words: list[str]) -> bool:
    """A source's name: a few words, each starting with a capital or a digit."""
    return len(words) <= credit_words().max_credit_words and all(
        w[0].isupper() or w[0].isdigit() for w in words
    )


def _trailing_agency(text: str) -> tuple[str, str | None]:
    """ "... in 2017. AFP": an agency named after the caption's last sentence."""
    last_word = text.rsplit(None, 1)[-1] if text.strip() else ""
    if last_word.casefold() not in credit_words().agencies:
        return text, None  # the cheap test first: this runs on every line
    match = _TRAILING_AGENCY.fullmatch(text)
    if match and match["credit"].casefold() in credit_words().agencies:
        return match["caption"], match["credit"]
    return text, None


def _split_off_credit(
    text: str, accept: Callable[[str, list[str]], bool]
) -> tuple[str, str | None]:
    """(caption, credit) when the text ends in a bracketed phrase that `accept`s as a credit,
    leaves a caption before it, and is no positional note; else a trailing agency, if any."""
    ends_in_brackets = text.rstrip().rstrip(".").rstrip().endswith(")")
    match = _TRAILING_PAREN.fullmatch(text) if ends_in_brackets else None
    if match and match["caption"].strip():
        words = _credit_words(match["credit"])
        if words and not _is_positional_note(words) and accept(match["caption"], words):
            return match["caption"], match["credit"].strip()
    return _trailing_agency(text)


def _any_source(_caption: str, words: list[str]) -> bool:
    return _names_a_credit_word(words) or len(words) <= credit_words().max_credit_words


def _evident_source(caption: str, words: list[str]) -> bool:
    if _defines(caption, words):
        return False  # "... said the Saudi Press Agency (SPA).": a definition, in prose
    return _names_a_credit_word(words) or (bool(_SENTENCE_END.search(caption)) and _is_name(words))


def _defines(caption: str, words: list[str]) -> bool:
    """The bracket abbreviates the name right before it: its initials are the name's."""
    if len(words) != 1 or not words[0].isupper():
        return False
    before = re.findall(r"[A-Z][\w’'-]*", caption.rstrip()[-120:])
    initials = "".join(w[0] for w in before)
    return len(words[0]) >= 2 and initials.endswith(words[0]) and caption.rstrip()[-1:].isalpha()


def caption_credit(text: str) -> tuple[str, str | None]:
    """Split a line known to be a photo caption (a lead or gallery photo's) into (caption,
    credit): the last bracketed phrase at its end is its credit, whatever source it names,
    unless it is a positional note or prose (rules/credits.yaml); a line that would leave no
    caption ("(AFP)") is all caption."""
    return _split_off_credit(text, _any_source)


def split_credit(text: str) -> tuple[str, str | None]:
    """Split any line into (caption, credit), credit None when the line is no credited
    caption. Unlike caption_credit, the line may be a paragraph, so the credit must name a
    credit word, or be a name after a full sentence ("Aid reaches Marib. (KSrelief)")."""
    return _split_off_credit(text, _evident_source)


def parse_dateline(text: str) -> tuple[str, str, str | None] | None:
    """(dateline as written, city in title case, agency) at the start of a paragraph."""
    match = _dateline_pattern().match(text)
    if not match:
        return None
    agency = match["agency_before"] or match["agency_after"]
    return match["dateline"].strip(), match["city"].title(), agency


# --- block parsing --------------------------------------------------------------------


def _parse_header(block: Block, version: ParsedVersion) -> None:
    boilerplate = boilerplate_reasons()
    title_key = " ".join(version.title.split())
    for line, role in block.header:
        if role in (HeaderRole.TITLE, HeaderRole.TITLE_REPEAT, HeaderRole.TITLE_VARIANT):
            if line.number == version.title_line:
                use = LineUse(line, PUBLISHED, "title", VERSION)
            else:
                reason = "repeated_title" if line.key == title_key else "title_variant"
                use = LineUse(line, DROPPED, reason)
        elif role is HeaderRole.CAPTION:
            caption, credit = caption_credit(line.text)
            placement = "gallery" if block.layout == "gallery" else "lead"
            position = len(version.photos) + 1
            version.photos.append(Photo(position, placement, caption, credit, None, line.number))
            use = LineUse(line, PUBLISHED, "caption", PHOTOS, position)
        elif role is HeaderRole.UPDATED:
            version.updated_raw, version.updated_line = updated_text(line), line.number
            use = LineUse(line, PUBLISHED, "updated", VERSION)
        elif role is HeaderRole.BYLINE:
            version.byline = line.text
            use = LineUse(line, PUBLISHED, "byline", VERSION)
        elif role is HeaderRole.SHORTLINK:
            version.short_url = line.text
            use = LineUse(line, PUBLISHED, "short_url", VERSION)
        elif role is HeaderRole.BULLET:
            version.bullets.append((bullet_text(line), line.number))
            use = LineUse(line, PUBLISHED, "bullet", BULLETS, len(version.bullets))
        elif role is HeaderRole.BOILERPLATE:
            use = LineUse(line, DROPPED, boilerplate.get(line.text, "boilerplate"))
        elif role is HeaderRole.COUNTER:
            use = LineUse(line, DROPPED, "gallery_counter")
        else:
            use = LineUse(line, DROPPED, "blank")
        version.uses.append(use)


def _parse_body_line(line: DumpLine, version: ParsedVersion) -> LineUse:
    if line.kind is Kind.BLANK:
        return LineUse(line, DROPPED, "blank")
    if line.kind is Kind.OVERLONG:
        return LineUse(line, QUARANTINED, "line_too_long")
    if line.kind not in (Kind.TEXT, Kind.BULLET):
        # Header furniture inside a body: keep its text in the ledger.
        return LineUse(line, QUARANTINED, "line_in_body")
    caption, credit = split_credit(line.text)
    if credit is not None:
        position = len(version.photos) + 1
        after = len(version.paragraphs)
        version.photos.append(Photo(position, "inline", caption, credit, after, line.number))
        return LineUse(line, PUBLISHED, "caption", PHOTOS, position)
    kind = "heading" if is_heading(line.text) else "body"
    position = len(version.paragraphs) + 1
    if kind == "body" and not any(p.kind == "body" for p in version.paragraphs):
        dateline = parse_dateline(line.text)
        if dateline:
            version.dateline, version.dateline_city, version.dateline_agency = dateline
    version.paragraphs.append(Paragraph(position, kind, line.text, line.number))
    return LineUse(
        line, PUBLISHED, kind if kind == "heading" else "paragraph", PARAGRAPHS, position
    )


def _segments(lines: list[DumpLine]) -> list[list[DumpLine]]:
    """Runs of lines separated by two or more blank lines."""
    segments: list[list[DumpLine]] = [[]]
    blanks = 0
    for line in lines:
        if line.kind is Kind.BLANK:
            blanks += 1
            continue
        if blanks >= 2 and segments[-1]:
            segments.append([])
        blanks = 0
        segments[-1].append(line)
    return [segment for segment in segments if segment]


def _is_prose(line: DumpLine) -> bool:
    text = line.text
    return (
        len(text) > MAX_JUNK_LINE_CHARS
        or bool(_TERMINAL.search(text))
        or is_heading(text)
        or split_credit(text)[1] is not None
    )


def _unrecognised_lines(body: list[DumpLine]) -> set[int]:
    """Line numbers of body segments with no sentence, heading or caption in them."""
    return {
        line.number
        for segment in _segments(body)
        if segment
        and not any(_is_prose(line) for line in segment)
        and all(line.kind is Kind.TEXT for line in segment)
        for line in segment
    }


def _title_line(block: Block) -> DumpLine | None:
    """The headline: the title line nearest the bullets, at its first occurrence.

    Galleries show title variants ("Special: ...") above their photo counters; they are the
    headline only when the page shows no other title line.
    """
    titles = [
        line for line, role in block.header if role in (HeaderRole.TITLE, HeaderRole.TITLE_REPEAT)
    ]
    if not titles:
        return None  # a headerless article
    return next(line for line in titles if line.key == titles[-1].key)


def parse_block(block: Block) -> ParsedVersion:
    """Parse one article block into a version (times still unresolved)."""
    title = _title_line(block)
    lines = block.lines
    first_bullet = next((line for line, role in block.header if role is HeaderRole.BULLET), None)
    version = ParsedVersion(
        block=block.index,
        layout=block.layout,
        # A headerless article is named by its first bullet (split.py finds it by them).
        title=title.text if title else bullet_text(first_bullet),
        title_line=title.number if title else None,
        line_start=lines[0].number,
        line_end=lines[-1].number,
    )
    _parse_header(block, version)
    junk = _unrecognised_lines(block.body)
    for line in block.body:
        if line.number in junk and line.kind is not Kind.BLANK:
            version.uses.append(LineUse(line, QUARANTINED, "unrecognised_block"))
        else:
            version.uses.append(_parse_body_line(line, version))
    published = [u.line.text for u in version.uses if u.status == PUBLISHED]
    last_is_body = bool(version.paragraphs) and published[-1] == version.paragraphs[-1].text
    version.is_truncated = not version.paragraphs or (
        last_is_body and not _TERMINAL.search(published[-1])
    )
    return version


def _leading_uses(lines: list[DumpLine]) -> list[LineUse]:
    """Lines before the first article header: junk header lines or a headerless fragment."""
    text_lines = [line for line in lines if line.kind is not Kind.BLANK]
    junk = len(text_lines) <= 2 and all(len(x.text) <= MAX_JUNK_HEADER_CHARS for x in text_lines)
    reason = "junk_header" if junk else "headerless_fragment"
    return [
        LineUse(line, DROPPED, "blank")
        if line.kind is Kind.BLANK
        else LineUse(line, QUARANTINED, "line_too_long" if line.kind is Kind.OVERLONG else reason)
        for line in lines
    ]


def _resolve_times(
    versions: list[ParsedVersion], crawl_time: datetime | None, inferred: bool
) -> None:
    """Update times of the versions, read against the dump's crawl time; a time that cannot
    be true is kept raw only (timing.read_update says which)."""
    for version in versions:
        if version.updated_raw is None:
            continue
        update = timing.read_update(version.updated_raw, crawl_time, inferred)
        version.updated_kind = update.kind
        version.updated_at = timing.iso(update.moment)
        version.updated_at_inferred = update.inferred


def parse_dump(dump: Dump, crawl_time: datetime | None = None) -> ParsedDump:
    """Split and parse a dump; resolve update times against the given or inferred crawl time."""
    split = split_dump(dump.lines)
    versions = [parse_block(block) for block in split.blocks]
    dates = [
        moment
        for v in versions
        if v.updated_raw and (moment := timing.absolute_time(v.updated_raw)) is not None
    ]
    source = "override"
    if crawl_time is None:
        crawl_time = timing.infer_crawl_time(dates)
        source = "inferred" if crawl_time else "unknown"
    _resolve_times(versions, crawl_time, source == "inferred")
    return ParsedDump(dump, versions, _leading_uses(split.leading), crawl_time, source)
