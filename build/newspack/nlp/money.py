"""Stage 4, analyse (money and ranges): currencies written around a number, and ranges
("Rs10-20", "10 to 20 percent", "between $1.2 billion and $1.5 billion"), from the words in
rules/figures.yaml.

quantulum3 knows the dollar, euro and pound signs but reads "SR42 million" as steradians
and a range as the mean of its ends; these rules find the currency as written (a symbol or
abbreviation before the number, a word after it) and read a range as its two ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newspack.rules import derived, load_rules


@derived
def _rules() -> dict:
    return load_rules("figures")


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@derived
def prefix_pattern() -> str:
    """Currencies written before a number: symbols and abbreviations ("$", "Rs", "SR")."""
    return _alternation(w for w in _rules()["currencies"] if not w.islower())


@derived
def _suffix_pattern() -> str:
    """Currencies written after a number: words ("rupees", "riyals")."""
    return _alternation(w for w in _rules()["currencies"] if w.islower())


@derived
def _before() -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z])({prefix_pattern()})\s*$")


@derived
def _after() -> re.Pattern[str]:
    return re.compile(rf"\s+({_suffix_pattern()})\b")


def currency_before(text: str) -> tuple[str, int] | None:
    """(ISO code, start of the currency) when `text` ends with a currency symbol."""
    match = _before().search(text)
    return (_rules()["currencies"][match.group(1)], match.start(1)) if match else None


def currency_after(text: str) -> tuple[str, int] | None:
    """(ISO code, end of the currency word) when `text` starts with a currency word."""
    match = _after().match(text)
    return (_rules()["currencies"][match.group(1)], match.end(1)) if match else None


@derived
def _letters_before_digits() -> re.Pattern[str]:
    words = [w for w in _rules()["currencies"] if w[:1].isalpha() and not w.islower()]
    return re.compile(rf"(?<![A-Za-z])({_alternation(words)})(?=\s?\d)")


def mask_currency_letters(text: str) -> str:
    """Currency abbreviations before a number blanked out (same length, offsets hold):
    quantulum3 would read "SR" as a unit (steradian)."""
    return _letters_before_digits().sub(lambda m: " " * len(m.group(1)), text)


@derived
def all_scales() -> dict[str, int]:
    return {**_rules()["known_scales"], **_rules()["scales"]}


_NUMBER = r"\d[\d,]*(?:\.\d+)?"


@derived
def _range_pattern() -> re.Pattern[str]:
    currency, scale = prefix_pattern(), _alternation(all_scales())
    end = rf"(?:(?P<cur{{n}}>{currency})\s?)?(?P<n{{n}}>{_NUMBER})(?:\s+(?P<scale{{n}}>{scale})\b)?"
    percent = r"\s*(?:%|percent\b|per cent\b)"
    return re.compile(
        rf"(?:(?P<between>\b(?i:between)\s+)|(?P<from>\b(?i:from)\s+))?(?<![\w.,]){end.format(n=1)}"
        rf"(?P<percent1>{percent})?\s*(?P<sep>-|–|\bto\b|\band\b)\s*{end.format(n=2)}"
        rf"(?P<percent>{percent})?(?![\w.,]\d)"
    )


@dataclass(frozen=True)
class RangeEnd:
    start: int
    end: int
    value: float
    currency: str | None
    percent: bool


def is_year(number: str) -> bool:
    """A year ("2025"): never an amount (figures.py and the ranges here)."""
    number = number.strip()
    return len(number) == 4 and number.isdigit() and 1800 <= int(number) <= 2100


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def find_ranges(text: str) -> list[tuple[RangeEnd, RangeEnd, bool]]:
    """Money and percent ranges in a text: (low end, high end, is a change "from A to B").

    A bare "10-20" (a score, pages, a date) is no range; "and" joins ends only after
    "between"; the currency and the scale of one end apply to the other ("Rs10-20",
    "between 15 and 17 million").
    """
    found = []
    for match in _range_pattern().finditer(text):
        if match["sep"] == "and" and not match["between"]:
            continue
        suffix = currency_after(text[match.end() :])
        code = _currency_code(match["cur1"] or match["cur2"]) or (suffix[0] if suffix else None)
        percent = bool(match["percent"] or match["percent1"])
        if (match["percent1"] and not match["percent"]) or (percent and code):
            continue  # "rose 12 percent to $2.5 billion": a change and a level, no range
        if not (code or percent or _is_count_range(match, text)):
            continue  # "164-7", "pages 10-20": no range of amounts
        if not (code or percent) and all(is_year(match[n]) for n in ("n1", "n2")):
            continue  # "between 2019 and 2021": a span of years
        found.append((*_ends(match, code, percent, suffix), bool(match["from"])))
    return found


_COUNTED_NOUN = re.compile(r"\s+[a-z][a-z-]+")


def _is_count_range(match: re.Match[str], text: str) -> bool:
    """A range of counts: marked ("between", "from") or a rising pair of numbers before the
    noun they count ("10-20 people", "400 to 500 pilgrims"; not a score, "164-7 runs")."""
    if match["between"] or match["from"]:
        return True
    rising = _number(match["n1"]) < _number(match["n2"]) or bool(match["scale2"])
    return rising and bool(_COUNTED_NOUN.match(text, match.end()))


def _currency_code(written: str | None) -> str | None:
    return _rules()["currencies"][written] if written else None


def _ends(match: re.Match[str], code: str | None, percent: bool, suffix) -> tuple:
    scale = match["scale2"] or match["scale1"]
    # "between 15 and 17 million": the scale of the high end is the low end's too, unless
    # the low end is already the bigger number ("from $500,000 to $1 million").
    carry = _number(match["n1"]) < _number(match["n2"])
    scales = [match["scale1"] or (scale if carry else None), scale]
    ends = [
        max(match.end("n1"), match.end("scale1"), match.end("percent1")),
        match.end() + suffix[1] if suffix else match.end(),
    ]
    return tuple(
        RangeEnd(
            match.start(f"cur{n}") if match[f"cur{n}"] else match.start(f"n{n}"),
            ends[n - 1],
            _number(match[f"n{n}"]) * (all_scales()[scales[n - 1]] if scales[n - 1] else 1),
            code,
            percent,
        )
        for n in (1, 2)
    )
