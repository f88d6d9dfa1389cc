"""Stage 4, analyse (entity spans): the names in one text, from the model and from rules.

The model's spans are cleaned (names.clean_span); long forms the text defines ("Long Form
(ABBR)"), platforms and named events (kinds.py) and a dateline's city are added where the
model missed them. What is kept is plain values (SpanFound), cached with the dump.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace

from newspack.nlp import kinds
from newspack.nlp.model import ENTITY_TYPES
from newspack.nlp.names import (
    clean_span,
    is_listing_name,
    is_name_lead,
    is_title_word,
    looks_like_name,
    org_words,
)

_ACRONYM = re.compile(r"[A-Z]{2,6}")
# "Long Form (ABBR)": the abbreviation in capitals, or capitals then lower case as some
# organisations write theirs ("KSrelief"); the long form may list words with commas
# ("Sindh Irrigation, Drainage and Water Management Authority (SIDWMA)").
_DEFINITION = re.compile(
    r"(?P<long>(?:[A-Z][\w’'&.-]*)(?:,?\s+(?:[A-Z][\w’'&.-]*|of|for|the|and|on|&))*)"
    r"\s*\((?P<abbr>[A-Z]{2,6}[a-z]{0,8})\)"
)
_BRACKET_DEFINITION = re.compile(r"(?P<abbr>\b[A-Z]{2,6})\s*\[(?P<long>[A-Z][^\]]{5,100})\]")


@dataclass(frozen=True)
class SpanFound:
    """A name the model found in a text, cleaned; its label is "_DROP" when it is a fragment
    of a longer name the text defines."""

    start: int
    end: int
    label: str
    sentence: str
    role: str | None = None


def spans_in(text: str, doc) -> list[SpanFound]:
    """The model's entity spans in one text, cleaned, and the long forms the text defines."""
    spans = [
        SpanFound(start, end, label, ent.sent.text.strip(), role)
        for ent in doc.ents
        if ent.label_ in ENTITY_TYPES
        for start, end, label, role in clean_span(text, ent.start_char, ent.end_char, ent.label_)
    ]
    spans += _definition_spans(text, doc, spans)
    spans = _joined_names(text, spans)
    spans += _rule_spans(text, doc, spans)
    spans += _lead_name_spans(text, doc, spans)
    spans += _festival_spans(text, doc, spans)
    spans += _dateline_span(text, doc, spans)
    # One span per start: a name widened to its start ("Khalid bin Salman" from "bin
    # Salman") replaces the model's shorter span there ("Khalid").
    longest: dict[int, SpanFound] = {}
    for span in spans:
        if text[span.start : span.end].strip() and (
            span.start not in longest or span.end > longest[span.start].end
        ):
            longest[span.start] = span
    return list(longest.values())


MAX_NAME_WORDS = 5


def _joined_names(text: str, spans: list[SpanFound]) -> list[SpanFound]:
    """A person's name the model cut in two ("Shah Mahmood" PERSON + "Qureshi" ORG, "Syed
    Yousuf" + "Raza Gilani"): a person span and a name span one space after it are one
    name; two people are never written without a comma or "and" between them."""
    ordered = sorted(spans, key=lambda s: s.start)
    joined: list[SpanFound] = []
    for span in (_with_listed_tail(text, _with_led_tail(text, s, spans)) for s in ordered):
        last = joined[-1] if joined else None
        if last is not None and span.start < last.end:
            if span.end <= last.end:
                continue  # inside a name already widened over it ("... and Housing")
            if span.label == "PERSON" and text[last.start : span.start].strip():
                # "Saudi Arabia Raja" + "Raja Ali Ejaz": the given name is the person's
                joined[-1] = replace(
                    last, end=last.start + len(text[last.start : span.start].rstrip())
                )
                joined.append(span)
                continue
        if (
            last is not None
            and last.label == "PERSON"
            and span.label in ("PERSON", "ORG")
            and text[last.end : span.start] == " "
            and _is_name_tail(text[span.start : span.end])
            and not all(is_title_word(w) for w in text[last.start : last.end].split())
            and len(text[last.start : span.end].split()) <= MAX_NAME_WORDS
        ):
            joined[-1] = replace(last, end=span.end)
            continue
        joined.append(span)
    return joined


def _with_led_tail(text: str, span: SpanFound, spans: list[SpanFound]) -> SpanFound:
    """A name led by a title-like given name, cut by the model before its last words
    ("Shah Mahmood" + untagged "Qureshi"), runs over the capitalised words that follow."""
    if span.label != "PERSON":
        return span
    own = text[span.start : span.end].split()
    tail = _FOLLOWING_WORDS.match(text, span.end)
    ends = [m.end() for m in re.finditer(r"\S+", tail.group())] if tail else []
    for n in range(min(len(ends), MAX_NAME_WORDS - len(own)), 0, -1):
        end = span.end + ends[n - 1]
        taken = any(s is not span and s.start < end and span.end < s.end for s in spans)
        if not taken and is_name_lead(text[span.start : end].split()):
            return replace(span, end=end)
    return span


def _with_listed_tail(text: str, span: SpanFound) -> SpanFound:
    """A listing name the model ended before its last field ("Ministry of Municipal, Rural
    Affairs" + " and Housing") runs to the end of the list."""
    if span.label != "ORG" or not is_listing_name(text[span.start : span.end]):
        return span
    if tail := _LIST_TAIL.match(text, span.end):
        return replace(span, end=tail.end())
    return span


_LIST_TAIL = re.compile(r",? and [A-Z][\w’'-]*(?: [A-Z][\w’'-]*)*")
_FOLLOWING_WORDS = re.compile(r"(?: [A-Z][\w’'-]*)+")


def _is_name_tail(surface: str) -> bool:
    words = surface.split()
    return looks_like_name(words) and words[-1] not in org_words() and not surface.isupper()


_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*){2,4}\b")


def _lead_name_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Names led by a title-like given name the model missed ("Raja Pervez Ashraf")."""
    added = []
    for match in _CAPITALISED_RUN.finditer(text):
        start, end = match.span()
        words = match.group().split()
        if not is_name_lead(words) or any(s.start < end and start < s.end for s in spans):
            continue
        sentence = _sentence_at(doc, start, text)
        added.append(SpanFound(start, end, "PERSON", sentence))
    return added


def _festival_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Festivals ("Eid Al-Fitr"), over the model's pieces of them ("Al-Fitr" PERSON)."""
    added = []
    for start, end in kinds.festival_spans(text):
        pieces = _pieces(spans, start, end)
        if any(s.start < end and start < s.end for i, s in enumerate(spans) if i not in pieces):
            continue  # part of a longer name ("Eid Milad-un-Nabi Committee")
        if any(spans[i].start == start and spans[i].end == end for i in pieces):
            continue  # the model read it whole: its type is the festival's (canonical.py)
        added.append(_over_pieces(spans, pieces, start, end, "EVENT", doc, text))
    return added


def _pieces(spans: list[SpanFound], start: int, end: int) -> list[int]:
    """Indexes of the spans that lie inside start-end."""
    return [i for i, s in enumerate(spans) if start <= s.start and s.end <= end]


def _over_pieces(spans, pieces: list[int], start: int, end: int, label: str, doc, text):
    """A name the rules read whole, its pieces from the model marked "_DROP"."""
    for i in pieces:
        spans[i] = replace(spans[i], label="_DROP")
    return SpanFound(start, end, label, _sentence_at(doc, start, text))


def _sentence_at(doc, start: int, text: str) -> str:
    """The sentence of the model's parse that holds the character at start."""
    return next((x.text.strip() for x in doc.sents if x.start_char <= start < x.end_char), text)


def _dateline_span(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """The city of a dateline ("RIYADH: ..."), which the model rarely tags in capitals."""
    from newspack.ingest.parse import parse_dateline

    dateline = parse_dateline(text)
    if dateline is None:
        return []
    written, city, _ = dateline
    at = text.upper().find(city.upper(), 0, len(written) + 1)
    if at < 0 or any(s.start < at + len(city) and at < s.end for s in spans):
        return []
    sentence = next(iter(doc.sents)).text.strip() if len(doc) else text
    return [SpanFound(at, at + len(city), "GPE", sentence)]


def _rule_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Platforms and named events the model missed ("on X", "the Al-Shehab 2 exercise"),
    where no span of its own covers them."""
    found = [(s, e, "PRODUCT") for s, e in kinds.product_spans(text)]
    found += [(s, e, "EVENT") for s, e in kinds.event_spans(text)]
    added = []
    for start, end, label in found:
        if any(s.start < end and start < s.end for s in spans):
            continue
        sentence = _sentence_at(doc, start, text)
        added.append(SpanFound(start, end, label, sentence))
    return added


def _definition_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Long forms the text defines ("Long Form (ABBR)", "ABBR [Long Form]") but the model
    split; the model's fragments of them are marked "_DROP" in spans."""
    added = []
    for pattern in (_DEFINITION, _BRACKET_DEFINITION):
        for match in pattern.finditer(text):
            start, end = _long_form(match)
            inside = _pieces(spans, start, end)
            if any(spans[i].start == start and spans[i].end == end for i in inside):
                continue
            added.append(_over_pieces(spans, inside, start, end, "ORG", doc, text))
    return added


# --- canonical names and types ---------------------------------------------------------


def _long_form(match: re.Match[str]) -> tuple[int, int]:
    """Span of a definition's long form without "the" or an owner ("Pakistan’s ..."),
    starting where the abbreviation's initials do ("... and the Sindh Irrigation, Drainage
    and Water Management Authority (SIDWMA)" starts at "Sindh")."""
    start, end = match.span("long")
    long = match["long"]
    if owner := re.match(r"(?i)the\s+|.*?[’']s\s+(?=[A-Z])", long):
        start += owner.end()
    words = list(re.finditer(r"[^\s,]+", match.string[start:end]))
    capitals = "".join(c for c in match["abbr"] if c.isupper())
    starts = [w.start() for w in words if w.group()[:1].isupper()]
    for at in starts:  # the longest form whose initials are the abbreviation's
        before = match.string[start : start + at].rstrip().rsplit(" ", 1)[-1]
        if at and not (before.endswith(",") or before in ("and", "of", "the", "for", "on", "&")):
            continue  # "UN Central Emergency Response Fund (CERF)": the owner stays
        initials = "".join(w[0] for w in match.string[start + at : end].split() if w[0].isupper())
        if initials.replace(",", "") == capitals or (
            capitals != match["abbr"] and initials.startswith(capitals)
        ):
            return start + at, end
    if "," in match.string[start:end]:  # no initials to go by: a list is no one name
        start += match.string[start:end].rindex(",") + 1
        start += len(match.string[start:end]) - len(match.string[start:end].lstrip())
    return start, end


def definitions(texts: list[str]) -> dict[str, list[str]]:
    """Abbreviation -> the long forms the text gives it, in order of appearance."""
    found: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        for pattern in (_DEFINITION, _BRACKET_DEFINITION):
            for match in pattern.finditer(text):
                start, end = _long_form(match)
                long = text[start:end].strip()
                if long not in found[match["abbr"]]:
                    found[match["abbr"]].append(long)
    return dict(found)
