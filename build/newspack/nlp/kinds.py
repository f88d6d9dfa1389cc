"""Stages 4 and 6, analyse and enrich (kinds of names): what kind of name a span is,
from its words and the words around it, by the data in rules/entity_kinds.yaml.

- capitalised words that name nothing alone ("the Kingdom", "AI", "MoU") and hyphenated
  attitudes ("anti-Israel") are not entities;
- online platforms are products, and are found where the model misses them;
- a name ending in "Airport", "Causeway", "Palace" ... is a facility, one ending in
  "Treaty", "Agreement", "Act" ... a law, one followed by "exercise", "summit" ... an event;
- a name followed by "river", "mountains", "valley" ... is a natural feature (LOC);
- a one-word name with a capital inside ("QatarEnergy", "TikTok") is no person's name.
"""

from __future__ import annotations

import re

from newspack.rules import derived, load_rules


@derived
def _kinds() -> dict:
    return load_rules("entity_kinds")


@derived
def _not_entities() -> frozenset[str]:
    return frozenset(_kinds()["not_entities"])


def is_not_entity(surface: str) -> bool:
    """A word that names nothing alone, or an attitude built on a name ("pro-Palestinian")."""
    lowered = surface.lower()
    return surface in _not_entities() or any(
        lowered.startswith(prefix) for prefix in _kinds()["not_entity_prefixes"]
    )


def is_product(surface: str) -> bool:
    return surface in _kinds()["products"] or surface in _kinds()["single_letter_products"]


@derived
def _product_pattern() -> re.Pattern[str]:
    names = sorted(_kinds()["products"], key=len, reverse=True)
    return re.compile(r"(?<![\w@#])(?:" + "|".join(map(re.escape, names)) + r")(?![\w])")


@derived
def _single_letter_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(p)) for name, p in _kinds()["single_letter_products"].items())


def product_spans(text: str) -> list[tuple[int, int]]:
    """Where the text names an online platform: (start, end) of each name. A one-letter
    name counts where its pattern says it is the platform, or in a list beside another
    platform ("YouTube, Facebook and X")."""
    spans = [match.span() for match in _product_pattern().finditer(text)]
    named = _product_pattern().pattern
    for name, pattern in _single_letter_patterns():
        letter = re.escape(name)
        in_list = re.compile(
            rf"{named}\s*(?:,|and|or|,\s*and)\s+{letter}\b|\b{letter}\s*(?:,|and|or)\s+{named}"
        )
        for match in [*pattern.finditer(text), *in_list.finditer(text)]:
            offset = re.search(rf"(?<![\w-]){letter}(?![\w-])", match.group(0))
            if offset:
                start = match.start() + offset.start()
                spans.append((start, start + len(name)))
    return sorted(set(spans))


def _without_article(surface: str) -> str:
    return re.sub(r"^(?:the|The)\s+", "", surface)


def is_region(surface: str) -> bool:
    """A world region ("the Gulf", "Middle East"): LOC."""
    return _without_article(surface) in _kinds()["regions"]


def is_religion(surface: str) -> bool:
    return surface in _kinds()["religions"]


def is_festival(surface: str) -> bool:
    """A festival or holiday by its full name ("Eid Al-Fitr", "Christmas Day"): an EVENT."""
    return bool(_festival_name().fullmatch(surface))


def is_facility(surface: str) -> bool:
    words = surface.split()
    return len(words) >= 2 and words[-1] in _kinds()["facility_endings"]


_WORD = re.compile(r"[A-Za-z]+")


def is_law(surface: str) -> bool:
    words = surface.split()
    return len(words) >= 2 and words[-1] in _kinds()["law_endings"]


def _followed_by(text: str, end: int, words: list[str]) -> bool:
    """True when the name ending at `end` is followed by one of `words`, directly or through
    a list of names ("the Chenab and Ravi rivers")."""
    for word in _WORD.findall(text[end : end + 60])[:6]:
        if word in words:
            return True
        if word[:1].islower() and word != "and":
            return False
    return False


def is_natural_feature(text: str, end: int) -> bool:
    """A name followed by a feature word: "the Sutlej river"."""
    return _followed_by(text, end, _kinds()["feature_words"])


def is_event(text: str, end: int) -> bool:
    """A name followed by an event word: "the Al-Shehab 2 exercise"."""
    return _followed_by(text, end, _kinds()["event_words"])


def is_brand_word(surface: str) -> bool:
    """One word with a capital letter after its first ("QatarEnergy", "TikTok"): a brand
    or an organisation, never a person's name (names are "McDonald"-like only rarely,
    and then with their given name beside them)."""
    if _SURNAME_PREFIX.match(surface):
        return False  # McCarthy, MacDonald, O'Brien, DeSantis
    return " " not in surface and "-" not in surface and any(c.isupper() for c in surface[2:])


_SURNAME_PREFIX = re.compile(r"(?:Mc|Mac|O[’']|D[’']|De|Di|Da|Du|La|Le|Van|Von)[A-Z]")


@derived
def _event_name() -> re.Pattern[str]:
    words = "|".join(map(re.escape, _kinds()["event_words"]))
    name = r"[A-Z][\w’'-]*"
    return re.compile(
        rf"(?<![\w’'-])(?P<name>{name}(?:\s+(?:{name}|\d+|[IVXL]+))*?(?:\s+(?:\d+|[IVXL]+))?)"
        rf"\s+(?:{words})\b"
    )


@derived
def _festival_name() -> re.Pattern[str]:
    words = "|".join(map(re.escape, _kinds()["festival_words"]))
    # "Christmas Island" and "Easter Island" are places, not holidays.
    return re.compile(rf"\b(?:{words})\s+(?:[Aa]l-|[Uu]l-)?(?!Islands?\b)[A-Z][\w’'-]*(?![\w-])")


def festival_spans(text: str) -> list[tuple[int, int]]:
    """Festivals and holidays by their full name ("Eid Al-Fitr"), which the model often
    misses or calls people."""
    return [m.span() for m in _festival_name().finditer(text)]


def event_spans(text: str) -> list[tuple[int, int]]:
    """Names right before an event word ("the Al-Shehab 2 exercise"), which the model
    often leaves out; not an acronym alone ("the SCO summit" is the SCO's)."""
    spans = []
    for match in _event_name().finditer(text):
        name = match["name"]
        if name.split()[0] in ("The", "A", "An", "This", "That") or re.fullmatch(
            r"[A-Z0-9]+", name
        ):
            continue
        spans.append(match.span("name"))
    return spans
