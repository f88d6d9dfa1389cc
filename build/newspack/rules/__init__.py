"""Curated knowledge (used by every stage that applies a word list): rules/*.yaml as data.

Manual knowledge is data with a reason per entry, not `if` chains in code. A value made from
a rules file is cached once per process with @derived; reload() reads the files again (from
another folder when given: tests add a word to a copy and see it take effect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from newspack.config import RULES_DIR

_source = {"folder": RULES_DIR}  # where the rules are read from (reload() may change it)
_derived: list = []  # values made from the rules, cleared by reload()


def derived(function):
    """@functools.cache for a value made from rules files, cleared by reload()."""
    cached = cache(function)
    _derived.append(cached)
    return cached


def reload(folder: Path | None = None) -> None:
    """Read the rules again, from `folder` (default: the package's rules/) from now on."""
    _source["folder"] = folder or RULES_DIR
    for cached in _derived:
        cached.cache_clear()


def _load(name: str) -> Any:
    with (_source["folder"] / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@derived
def load_rules(name: str) -> Any:
    """A rules file as data (cached)."""
    return _load(name)


@derived
def boilerplate_reasons() -> dict[str, str]:
    """Page furniture line text -> reason it is dropped."""
    return {entry["text"]: entry["reason"] for entry in _load("boilerplate")}


@dataclass(frozen=True)
class CreditWords:
    agencies: frozenset[str]
    credit_qualifiers: frozenset[str]
    platforms: frozenset[str]
    positional_notes: frozenset[str]  # "(R)", "(second left)": never a credit
    max_credit_words: int

    @property
    def all_words(self) -> frozenset[str]:
        """Words that make a bracketed phrase a credit (positional words excluded)."""
        return self.agencies | self.credit_qualifiers | self.platforms


@derived
def credit_words() -> CreditWords:
    """Casefolded words that mark a photo credit, and the words of positional notes."""
    data = _load("credits")
    lists = ("agencies", "credit_qualifiers", "platforms", "positional_notes")
    return CreditWords(
        *(frozenset(w.casefold() for w in data[k]) for k in lists),
        max_credit_words=data["max_credit_words"],
    )


@dataclass(frozen=True)
class TextRepair:
    stage: str
    pattern: re.Pattern[str]
    replace: str
    reason: str


@derived
def text_repairs() -> tuple[TextRepair, ...]:
    """Encoding repairs that complement ftfy, in the order they apply."""
    return tuple(
        TextRepair(
            e["stage"], re.compile(e["pattern"]), e["replace"], " ".join(e["reason"].split())
        )
        for e in _load("text_repairs")
    )
