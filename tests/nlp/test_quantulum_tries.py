"""Analyse stage, quantulum3's regexes as tries: they match exactly as quantulum3's own."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newspack.nlp import quantulum_tries
from newspack.nlp.quantulum_tries import regexes, trie_alternation

REGEX_NAMES = ("units_regex", "text_pattern_reg")


def _matches(pattern: re.Pattern, text: str) -> list:
    """Every match: where it is and what each named group holds."""
    return [(m.span(), m.groupdict()) for m in pattern.finditer(text)]


def _quantulum_words() -> list[str]:
    load, _, regex = quantulum_tries._quantulum()
    units = load.units(quantulum_tries.LANG)
    words = list(units.surfaces) + list(units.symbols) + list(units.prefix_symbols)
    return words + [w for w in regex.numberwords(quantulum_tries.LANG) if w]


@pytest.mark.parametrize("name", REGEX_NAMES)
def test_trie_regexes_match_as_quantulum3s_own_on_every_text_of_the_dumps(tables, name):
    from newspack.ingest.sources import sources

    own, fast = regexes()[name]
    texts = list(dict.fromkeys(s.text for s in sources(tables)))
    found = [_matches(own, text) for text in texts]
    assert [_matches(fast, text) for text in texts] == found
    assert sum(map(len, found)) >= 50  # the dumps hold dozens of numbers


def test_units_regex_keeps_quantulum3s_groups():
    own, fast = regexes()["units_regex"]
    assert fast.groupindex == own.groupindex
    assert fast.groups == own.groups
    text = "It cost $5 million, 19.3 million children, 29 percent, 4 km/h and 30 °C."
    assert [m.groups() for m in fast.finditer(text)] == [m.groups() for m in own.finditer(text)]


_NUMBERS = st.sampled_from(["5", "19.3", "1,200", "922", "2.0", "1/2", "3-4", "10^3", "½"])
_GLUE = st.sampled_from([" ", "  ", "-", "/", " per ", " a ", " and ", ", ", ".", " x "])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_trie_regexes_match_as_quantulum3s_own_on_generated_quantities(data):
    """Numbers next to quantulum3's own unit words, currency signs and number words, in any
    order and case."""
    words = st.sampled_from(_quantulum_words())
    token = st.one_of(_NUMBERS, words, words.map(str.upper), words.map(str.title), _GLUE)
    text = "".join(data.draw(st.lists(token, min_size=1, max_size=12)))
    for name in REGEX_NAMES:
        own, fast = regexes()[name]
        assert _matches(fast, text) == _matches(own, text), name


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text("abAB$.-é ", max_size=4), max_size=8),
    text=st.text("abAB$.-é 1", max_size=30),
)
def test_trie_alternation_matches_what_the_words_longest_first_match(words, text):
    joined = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    slow = re.compile(f"(?:{joined})" if words else "(?!)", re.IGNORECASE)
    fast = re.compile(trie_alternation(words), re.IGNORECASE)
    assert [m.span() for m in fast.finditer(text)] == [m.span() for m in slow.finditer(text)]


def test_parser_reads_with_the_trie_regexes_and_english_only():
    parser = quantulum_tries.parser()
    _, _, regex = quantulum_tries._quantulum()
    assert regex.units_regex() is regexes()["units_regex"][1]
    assert regex.text_pattern_reg() is regexes()["text_pattern_reg"][1]
    [quantity] = parser.parse("a 5 km walk")
    assert (quantity.value, quantity.unit.name) == (5, "kilometre")
    with pytest.raises(ValueError, match="en_US only"):
        regex.units_regex("fr_FR")
