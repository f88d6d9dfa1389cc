"""Stages 5-6, identify and enrich (IDs): every published identifier, made from what it names.

An ID never depends on row order, on the dumps read before it or on the machine: articles
hash the comparison form of their first title, entities their type and canonical name,
figures and quotes the place in a text where they start. IDs are therefore stable across
rebuilds and releases (tests/tables/test_identify.py). The prefixes say what an ID names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ID_PREFIXES = {"article": "art_", "entity": "ent_", "figure": "fig_", "quote": "quo_"}
ID_HEX_DIGITS = 16
_NON_ALNUM = re.compile(r"[\W_]+")


def identity_key(text: str) -> str:
    """Comparison form of a title or lead: case, quotes, punctuation and spacing ignored."""
    return _NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _hashed(kind: str, key: str) -> str:
    return ID_PREFIXES[kind] + hashlib.sha256(key.encode("utf-8")).hexdigest()[:ID_HEX_DIGITS]


def article_id_for(title: str) -> str:
    return _hashed("article", identity_key(title))


def entity_id_for(entity_type: str, name: str) -> str:
    return _hashed("entity", f"{entity_type}:{identity_key(name)}")


def text_item_id(kind: str, article_id: str, version: int, source: str, position: int, start: int):
    """The ID of a figure or quote: where in which text of which version it starts."""
    return _hashed(kind, f"{article_id}/{version}/{source}/{position}/{start}")
