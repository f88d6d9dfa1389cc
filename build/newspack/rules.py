"""Curated knowledge (used by the read and parse stages): loads the lists in rules/*.yaml.

Manual knowledge is data with a reason per entry, not `if` chains in code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from newspack.config import RULES_DIR


def _load(name: str) -> Any:
    with (RULES_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def load_rules(name: str) -> Any:
    """A rules file as data (cached)."""
    return _load(name)


@cache
def boilerplate_reasons() -> dict[str, str]:
    """Page furniture line text -> reason it is dropped."""
    return {entry["text"]: entry["reason"] for entry in _load("boilerplate")}


@dataclass(frozen=True)
class CreditWords:
    agencies: frozenset[str]
    qualifiers: frozenset[str]
    platforms: frozenset[str]

    @property
    def all_words(self) -> frozenset[str]:
        return self.agencies | self.qualifiers | self.platforms


@cache
def credit_words() -> CreditWords:
    """Casefolded words that mark a photo credit."""
    data = _load("credits")
    return CreditWords(
        *(frozenset(w.casefold() for w in data[k]) for k in ("agencies", "qualifiers", "platforms"))
    )


@dataclass(frozen=True)
class TextRepair:
    stage: str
    pattern: re.Pattern[str]
    replace: str
    reason: str


@cache
def text_repairs() -> tuple[TextRepair, ...]:
    """Encoding repairs that complement ftfy, in the order they apply."""
    return tuple(
        TextRepair(
            e["stage"], re.compile(e["pattern"]), e["replace"], " ".join(e["reason"].split())
        )
        for e in _load("text_repairs")
    )
