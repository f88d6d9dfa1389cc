"""Stage 4, analyse (figures' reader): quantulum3 with its two scanning regexes made fast.

quantulum3 finds quantities with two regexes, one for a number with its currency and units
and one for spelled-out numbers. Each holds long alternations of literal words (every unit
name and symbol, every currency sign, every number word), which Python's regex engine tries
one by one at every position of the text: reading a figure cost about 4 ms, most of the NLP
stage's time after spaCy itself. Here each such alternation is rebuilt as a trie (one branch
per shared prefix), which accepts exactly the same words in the same order of preference,
longest first, and the regexes are otherwise quantulum3's own, built by quantulum3. The
figures read are identical (tests/nlp/test_quantulum_tries.py compares the regexes' matches on
every text of the dumps and on generated text); only the time changes, about six-fold.

quantulum3 looks its regexes up through its `regex` module, so they are replaced there,
once per process, by `parser()`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import cache

LANG = "en_US"  # quantulum3's language; the dumps are English


def trie_alternation(words: Iterable[str]) -> str:
    """A regex matching each of the words, as `"|".join` of them longest first would,
    trying at each position the longest word that can match first.

    Words are lowercased (the regexes are case-insensitive) unless that changes their
    length, as a few non-ASCII letters do.
    """
    trie: dict = {}
    for word in words:
        lowered = word.lower()
        node = trie
        for char in lowered if len(lowered) == len(word) else word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return "(?:" + _branches(trie) + ")" if trie else "(?!)"  # no words: never matches


def _branches(node: dict) -> str:
    """The words below a trie node: its longer continuations first, the word ending here
    (when one does) as the last choice."""
    branches = [re.escape(char) + _branches(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    either = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{either})?" if "" in node else either


def _longest_first(words: Iterable[str]) -> str:
    """A list of words as quantulum3 joins it into an alternation."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


def units_regex(original: re.Pattern, units) -> re.Pattern:
    """quantulum3's regex for a number with its currency and units (original), its
    alternations of unit words and of currency signs rebuilt as tries.

    Only alternations quantulum3 puts in a group of their own are replaced: its operators
    are not (a lookahead after them binds to the last one alone), and are few anyway.
    """
    pattern = original.pattern
    for words in (list(units.surfaces) + list(units.symbols), list(units.prefix_symbols)):
        slow = _longest_first(words)
        grouped = pattern.count(f"({slow})") + pattern.count(f"(?:{slow})")
        if not grouped or grouped != pattern.count(slow):
            raise RuntimeError(f"quantulum3's units regex changed: {slow[:40]!r}... not grouped")
        pattern = pattern.replace(slow, trie_alternation(words))
    return re.compile(pattern, original.flags)


def text_pattern_regex(regex_module, lang: str = LANG) -> re.Pattern:
    """quantulum3's regex for spelled-out numbers, its number words as a trie.

    Every number word carries the same word boundaries in quantulum3's alternation, so
    they are factored out of it; the words are whole words, so no two can match at once
    and their order does not matter.
    """
    words = [word for word in regex_module.numberwords(lang) if word]
    number_words = r"(?:(?<=\W)|^)" + trie_alternation(words) + r"(?:(?=\W)|$)"
    pattern = regex_module._get_regex(lang).TEXT_PATTERN.format(
        number_pattern_no_groups=regex_module.number_pattern_no_groups(lang),
        numberwords_regex=number_words,
    )
    return re.compile(pattern, re.VERBOSE | re.IGNORECASE)


@cache
def _quantulum():
    with warnings.catch_warnings():
        # It warns that its optional classifier (scikit-learn) is not installed.
        warnings.simplefilter("ignore")
        from quantulum3 import load, parser, regex
    return load, parser, regex


@cache
def regexes() -> dict[str, tuple[re.Pattern, re.Pattern]]:
    """quantulum3's own two regexes and the trie ones replacing them, by name."""
    load, _, regex = _quantulum()
    own_units = regex.units_regex(LANG)
    return {
        "units_regex": (own_units, units_regex(own_units, load.units(LANG))),
        "text_pattern_reg": (regex.text_pattern_reg(LANG), text_pattern_regex(regex)),
    }


@cache
def install():
    """Put the trie regexes in quantulum3's place, once per process: a process-wide patch
    of quantulum3's regex module (its parser looks them up there). Called by the per-worker
    set-up (execution/worker.set_up_worker) and by parser() for in-process callers."""
    _, quantulum_parser, regex = _quantulum()
    for name, (_, fast) in regexes().items():
        setattr(regex, name, _english_only(fast))
    return quantulum_parser


def parser():
    """quantulum3's parser, reading with the trie regexes."""
    return install()


def _english_only(pattern: re.Pattern):
    def regex_for(lang: str = LANG) -> re.Pattern:
        if lang != LANG:
            raise ValueError(f"newspack reads quantities in {LANG} only, not {lang}")
        return pattern

    return regex_for
