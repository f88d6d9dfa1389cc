"""Stage 4, analyse (figures): the numbers a text states, normalised.

quantulum3 (made fast in quantulum_tries.py) reads the numbers (digits, separators, decimals,
words, scales, currencies, units); general rules fix its known mistakes on news text and
spaCy's parse names what a count counts:

- years, dates ("Sept. 1", "9 September"), decades ("1990s"), ordinals, clock times and
  version numbers ("WMS 2.0", "ML-1") are not figures;
- "one" alone, vague plurals ("thousands of"), word numbers that refer ("the two
  countries") and units quantulum3 reads into plain words ("a dam") are not figures;
- currencies written around a number ("SR42 million", "350 riyals") and the South Asian
  scales crore and lakh are money and scale (rules/figures.yaml, money.py), which quantulum3
  misses; accounting brackets are no minus sign, "minus 10" is one; a scale quantulum3
  left out after a qualifier ("some 35 million") is applied;
- ranges ("Rs10-20", "between 15 and 17 million") are read as their two ends (money.py),
  not as quantulum3's mean;
- a quantity's unit is written as the text writes it, plural after a hyphen ("300-megawatt"
  -> megawatts);
- the qualifier is read from the words before the number ("at least", "over" -> more than);
- a count's unit is the noun it counts ("19.3 million children" -> children), or, with no
  noun, that of the count before it in the sentence ("..., 8.431 million in Sindh");
- "from A to B" links two figures as a change or range ("from around 29 percent down to
  19 percent"); a lone "from A" is marked as the start of a change ("from six cases").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from newspack.nlp import money, quantulum_tries
from newspack.rules import derived, load_rules

MONTHS = (
    r"Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|"
    r"April|June|July|August|September|October|November|December"
)
_DATE_BEFORE = re.compile(rf"\b(?:{MONTHS})\.?\s*$")
_DATE_AFTER = re.compile(rf"^\s*(?:{MONTHS})\b")
_ORDINAL_AFTER = re.compile(r"^(?:st|nd|rd|th)\b")
_VERSION_BEFORE = re.compile(r"(?:\b[A-Z]{2,}[\w]*\s|[A-Za-z]-)$")
_DECADE_AFTER = re.compile(r"^s\b")
_VAGUE = re.compile(
    r"(?i)^(?:tens of |hundreds of )?(?:thousands|millions|billions|hundreds|dozens)$"
)
_NUMBER_WORD = re.compile(
    r"(?i)\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million|billion|dozen)\b"
)
_REFERENCE_BEFORE = re.compile(r"(?i)\b(?:the|its|their|his|her|our|both|these|those)\s+$")
_FROM = re.compile(r"(?i)\bfrom\s+(?:\w+\s+)?$")
_TO = re.compile(r"\b(?:to|down to)\s+(?:\w+\s+)?$")
_BETWEEN = re.compile(r"(?i)\bbetween\s+(?:\w+\s+)?$")


@derived
def _rules() -> dict:
    return load_rules("figures")


@dataclass
class Figure:
    start: int
    end: int
    text: str
    value: float
    kind: str  # money | percent | count | quantity
    unit: str | None
    qualifier: str | None
    sentence: str
    relation: str | None = None  # from | to | range_low | range_high
    related: int | None = None  # index of the linked figure in the same text


def _is_excluded(text: str, start: int, end: int, surface: str) -> bool:
    before, after = text[:start], text[end:]
    if _DATE_BEFORE.search(before) or _DATE_AFTER.match(after):
        return True
    if re.match(r"^:\d", after) or re.search(r"\d:$", before):
        return True  # a clock time, 10:30
    if _ORDINAL_AFTER.match(after) or _DECADE_AFTER.match(after):
        return True
    if _VERSION_BEFORE.search(before) or re.match(r"^[A-Za-z]", after):
        return True
    has_digit = any(c.isdigit() for c in surface)
    if not has_digit and not _NUMBER_WORD.search(surface):
        return True  # quantulum3 reads units into plain words: "a dam", "a key"
    return (
        money.is_year(surface)
        or _VAGUE.match(surface.strip()) is not None
        or (not has_digit and surface.strip().lower() in {"one", "a", "an"})
    )


def _qualifier(before: str) -> str | None:
    words = before.lower().split()[-2:]
    for size in (2, 1):
        phrase = " ".join(words[-size:])
        if phrase in _rules()["qualifiers"]:
            return _rules()["qualifiers"][phrase]
    return None


def _currency(text: str, start: int, end: int, quantity) -> tuple[str | None, int, int]:
    """ISO currency of a figure and its span widened to the currency as written."""
    entity = getattr(quantity.unit, "entity", None)
    if entity is not None and entity.name == "currency":
        code = {"dollar": "USD", "euro": "EUR", "pound sterling": "GBP"}.get(quantity.unit.name)
        if code:
            return code, start, end
    if before := money.currency_before(text[:start]):
        return before[0], before[1], end
    if inside := money.currency_after(" " + text[start:end].split()[-1]):
        return inside[0], start, end  # quantulum3 took the word in: "5,000 rupees"
    if after := money.currency_after(text[end:]):
        return after[0], start, end + after[1]
    return None, start, end


def _counted_thing(doc, end: int) -> str | None:
    """The noun a number counts: its head in the parse, or the next noun."""
    token = next((t for t in doc if t.idx < end <= t.idx + len(t)), None)
    if token is None:
        return None
    head = token
    while head.dep_ in ("nummod", "quantmod", "compound") and head.head is not head:
        head = head.head
        if head.pos_ in ("NOUN", "PROPN"):
            return head.text.lower() if head.pos_ == "NOUN" else None
    for following in doc[token.i + 1 : token.i + 4]:
        if following.pos_ == "NOUN":
            return following.text.lower()
        if following.pos_ not in ("ADJ", "PROPN", "NUM"):
            break
    return None


def _scaled(text: str, start: int, end: int, value: float) -> tuple[float, int]:
    """Apply a scale word quantulum3 left out: crore or lakh after the span or at its end,
    million or billion after it ("some 35 million": quantulum3 stops at the qualifier)."""
    scales = _rules()["scales"]
    inside = re.search(rf"\s({'|'.join(scales)})$", text[start:end])
    if inside:
        return value * scales[inside.group(1)], end
    every = money.all_scales()
    match = re.match(rf"\s+({'|'.join(every)})\b", text[end:])
    if match:
        return value * every[match.group(1)], end + match.end(1)
    return value, end


def _signed(text: str, start: int, end: int, value: float) -> tuple[float, int, int]:
    """A figure's sign and span as the text writes them: "($11.2 million)" is no negative
    amount (quantulum3 reads accounting brackets), "minus 10 degrees" is negative."""
    while start < end and text[start] in "( ":
        start += 1
    while end > start and text[end - 1] in ") ":
        end -= 1
    if value < 0 and not re.match(r"[-−–]\s*\d", text[start:end]):
        value = -value
    minus = re.search(r"\bminus\s+$", text[:start])
    if minus and value > 0:
        return -value, minus.start(), end
    return value, start, end


def _link_ranges(text: str, figures: list[Figure]) -> None:
    for i, first in enumerate(figures):
        for j in range(i + 1, len(figures)):
            second = figures[j]
            if first.sentence != second.sentence or first.unit != second.unit:
                continue
            if first.related is not None or second.related is not None:
                continue  # a range's ends, already linked
            between = text[first.end : second.start]
            if (
                _FROM.search(text[: first.start])
                and _TO.search(text[: second.start])
                and len(between) < 40
            ):
                first.relation, second.relation = "from", "to"
                first.related, second.related = j, i
            elif _BETWEEN.search(text[: first.start]) and re.fullmatch(
                r"\s+and\s+(?:\w+\s+)?", between
            ):
                first.relation, second.relation = "range_low", "range_high"
                first.related, second.related = j, i
    for figure in figures:
        # "a sharp rise in infections from six cases in 2023": a change whose other end is
        # stated elsewhere (here the sentence before).
        if figure.relation is None and _FROM.search(text[: figure.start]):
            figure.relation = "from"


RANGE_RELATIONS = ("range_low", "range_high")
PAIRED = -1  # Figure.related of a range's end before the figures are ordered
_ARTICLE_BEFORE_AMOUNT = re.compile(r"\b(an?)(?=\s+(?:US\$|[$€£]|\d))", re.IGNORECASE)


def _masked(text: str, ranges) -> str:
    """The text as quantulum3 should read it, blanked out where it misreads (same length, so
    offsets hold): an article before an amount ("a $500 million" read as 1 "dollar to the
    5e+08"), currency abbreviations ("SR" read as steradians) and the ranges read apart."""
    text = money.mask_currency_letters(_ARTICLE_BEFORE_AMOUNT.sub(_blank, text))
    for low, high, _ in ranges:
        text = text[: low.start] + " " * (high.end - low.start) + text[high.end :]
    return text


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(1))


_NUMBER_ANCHOR = re.compile(r"\d+(?:[.,]\d+)*|" + _NUMBER_WORD.pattern.removeprefix("(?i)"), re.I)
# How far from a number quantulum3 looks for its currency or unit, in characters: the
# longest prefix ("US$ ") and unit phrase ("million square kilometers per") it reads.
WINDOW_BEFORE, WINDOW_AFTER = 24, 48


def _is_date_number(sentence: str, match: re.Match[str]) -> bool:
    """A year ("2025") or the day of a date ("Sept. 1", "9 September"): never a figure."""
    number = match.group(0)
    before, after = sentence[: match.start()], sentence[match.end() :]
    day = number.isdigit() and (_DATE_BEFORE.search(before) or _DATE_AFTER.match(after))
    return money.is_year(number) or bool(day)


def _windows(sentence: str) -> list[tuple[int, int]]:
    """The stretches of a sentence around its numbers (not years or days of dates), widened
    to whole words and merged where they overlap."""
    windows: list[list[int]] = []
    for match in _NUMBER_ANCHOR.finditer(sentence):
        if _is_date_number(sentence, match):
            continue
        start = max(0, match.start() - WINDOW_BEFORE)
        end = min(len(sentence), match.end() + WINDOW_AFTER)
        while start > 0 and not sentence[start - 1].isspace():
            start -= 1
        while end < len(sentence) and not sentence[end].isspace():
            end += 1
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    return [(start, end) for start, end in windows]


def _quantities(text: str, doc, ranges):
    """quantulum3's quantities with their spans in the text.

    quantulum3 spends its time scanning text for units and spelled-out numbers, so it reads
    only the stretches around numbers, sentence by sentence: a quantity is a number with
    its currency and unit next to it, and years and days of dates are never figures.
    """
    masked = _masked(text, ranges)
    for sent in doc.sents:
        sentence = masked[sent.start_char : sent.end_char]
        for start, end in _windows(sentence):
            offset = sent.start_char + start
            for quantity in quantulum_tries.parser().parse(sentence[start:end]):
                first, last = quantity.span
                yield quantity, first + offset, last + offset


def extract(text: str, doc) -> list[Figure]:
    """The figures stated in one text."""
    ranges = money.find_ranges(text)
    figures = _range_figures(text, doc, ranges)
    for quantity, start, end in _quantities(text, doc, ranges):
        surface = text[start:end]
        if _is_excluded(text, start, end, surface):
            continue
        value, start, end = _signed(text, start, end, quantity.value)
        value, end = _scaled(text, start, end, value)
        currency, start, end = _currency(text, start, end, quantity)
        unit_name = quantity.unit.name
        if currency:
            kind, unit = "money", currency
        elif unit_name == "percentage":
            kind, unit = "percent", "percent"
        elif unit_name == "dimensionless":
            if not any(c.isdigit() for c in surface) and _REFERENCE_BEFORE.search(text[:start]):
                continue  # "the two countries" refers to them; it states no figure
            kind, unit = "count", _counted_thing(doc, end)
        else:
            kind, unit = (
                "quantity",
                _unit_as_written(text[start:end])
                or _rules()["unit_names"].get(unit_name, unit_name),
            )
        sentence = next(
            (s.text.strip() for s in doc.sents if s.start_char <= start < s.end_char), text
        )
        figures.append(
            Figure(
                start,
                end,
                text[start:end],
                round(value, 6),
                kind,
                unit,
                _qualifier(text[:start]),
                sentence,
            )
        )
    figures.sort(key=lambda f: f.start)
    for i, figure in enumerate(figures):  # a range's ends stand next to each other
        if figure.related == PAIRED:
            figure.related = i + 1 if figure.relation in ("from", RANGE_RELATIONS[0]) else i - 1
    _carry_units(figures)
    _link_ranges(text, figures)
    return figures


def _range_figures(text: str, doc, ranges) -> list[Figure]:
    """The two ends of each range, linked (range_low/range_high, or from/to for a change)."""
    figures = []
    for low, high, is_change in ranges:
        pair = []
        for end in (low, high):
            if end.currency:
                kind, unit = "money", end.currency
            elif end.percent:
                kind, unit = "percent", "percent"
            else:
                kind, unit = "count", _counted_thing(doc, high.end)
            sentence = next(
                (s.text.strip() for s in doc.sents if s.start_char <= end.start < s.end_char),
                text,
            )
            qualifier = _qualifier(text[: low.start])
            pair.append(
                Figure(
                    end.start,
                    end.end,
                    text[end.start : end.end],
                    round(end.value, 6),
                    kind,
                    unit,
                    qualifier,
                    sentence,
                )
            )
        pair[0].relation, pair[1].relation = ("from", "to") if is_change else RANGE_RELATIONS
        pair[0].related = pair[1].related = PAIRED  # linked once the figures are in order
        figures += pair
    return figures


_NUMBER_LEAD = re.compile(
    r"^\D*?(?:\d[\d,]*(?:\.\d+)?|[A-Za-z]+)(?:\s+(?:thousand|million|billion))?(?P<joint>-|\s+)"
)


def _unit_as_written(surface: str) -> str | None:
    """A quantity's unit as the text writes it ("186 tons" -> tons, "150 square kilometers"
    -> square kilometers), in the plural where a hyphen joins it to its number ("a
    300-megawatt plant" -> megawatts, "a two-day visit" -> days; "500-km" stays km)."""
    match = _NUMBER_LEAD.match(surface)
    if not match:
        return None
    unit = surface[match.end() :].strip()
    if not unit or not re.fullmatch(r"[A-Za-z][A-Za-z /]*", unit):
        return None
    if match["joint"] == "-":
        unit = _plural(unit)
    return unit


def _plural(unit: str) -> str:
    """The plural of a unit: of its last lower-case word before "per" ("degree Celsius" ->
    degrees Celsius); abbreviations ("km") stay as they are."""
    words = unit.split()
    head = words.index("per") - 1 if "per" in words else len(words) - 1
    while head > 0 and not words[head].islower():
        head -= 1
    word = words[head]
    # Abbreviations ("km", "kg", "mph") have no vowel and no plural.
    if word.islower() and re.search(r"[aeiouy]", word) and not word.endswith("s"):
        words[head] = _inflect().plural_noun(word)
    return " ".join(words)


@cache
def _inflect():
    import inflect

    return inflect.engine()


def _carry_units(figures: list[Figure]) -> None:
    """A count with no noun counts what the count before it in the sentence counts:
    "4 million children ... in Punjab, 8.431 million in Sindh", "922 people ... and 1,047"."""
    for i, figure in enumerate(figures):
        if figure.kind == "count" and figure.unit is None:
            earlier = [
                f
                for f in figures[:i]
                if f.kind == "count" and f.unit and f.sentence == figure.sentence
            ]
            if earlier:
                figure.unit = earlier[-1].unit
