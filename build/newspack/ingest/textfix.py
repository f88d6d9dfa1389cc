"""Stage 1, read (line repair): fixes encoding damage in a decoded line and says what it did.

ftfy does most of the work; rules/text_repairs.yaml adds what ftfy misses on our dumps.
"""

from __future__ import annotations

import html
import re

import ftfy

from newspack.rules import TextRepair, text_repairs

CLEAN, REPAIRED, DAMAGED = "clean", "repaired", "damaged"

# Curly quotes are the publisher's typography, not damage: keep them.
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, explain=False)
# Three or more letters in a row outside ASCII, general punctuation and no-break space,
# in a line of Latin text, are what mirror sites leave where a word was garbled.
_GARBAGE_RUN = re.compile(r"[^\x00-\x7f\u00a0\u2000-\u206f\u20ac]{3,}")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _special_replacement(kind: str, match: re.Match[str]) -> str:
    if kind == "html_entity":
        return html.unescape("&" + match.group(0))
    if kind == "cp874_mojibake":
        try:
            return b"".join(_cp874_byte(ch) for ch in match.group(0)).decode("utf-8")
        except UnicodeError:
            return match.group(0)
    return kind


def _cp874_byte(char: str) -> bytes:
    try:
        return char.encode("cp874")
    except UnicodeEncodeError:
        return char.encode("cp1252")


def _apply(repair: TextRepair, text: str) -> str:
    if repair.replace in {"html_entity", "cp874_mojibake"}:
        return repair.pattern.sub(lambda m: _special_replacement(repair.replace, m), text)
    return repair.pattern.sub(repair.replace, text)


def is_damaged(text: str) -> bool:
    """True when a line still holds damage no repair could undo."""
    if "\ufffd" in text or ftfy.is_bad(text):
        return True
    return bool(_LATIN_WORD.search(text) and _GARBAGE_RUN.search(text))


def repair_line(raw: str) -> tuple[str, str]:
    """Return (repaired text, encoding status) for one decoded line."""
    text = raw
    for repair in text_repairs():
        if repair.stage == "pre":
            text = _apply(repair, text)
    text = ftfy.fix_text(text, _FTFY_CONFIG)
    for repair in text_repairs():
        if repair.stage == "post":
            text = _apply(repair, text)
    if is_damaged(text):
        return text, DAMAGED
    return text, (CLEAN if text == raw else REPAIRED)
