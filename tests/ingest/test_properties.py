"""Property tests: whatever text a dump holds, read -> split -> parse -> identify never
crashes: it refuses the dump with a clear error naming file and line, or accounts for every
line and yields tables that pass validation."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layouts import DUMPS
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import DumpError, read_bytes
from newspack.package.schema import table_names
from newspack.package.validate import validate_tables
from newspack.tables.frames import to_frame
from newspack.tables.identify import identify

REAL_LINES = [
    line
    for path in sorted(DUMPS.glob("*.txt"))
    for line in path.read_text(encoding="utf-8").split("\n")
]
GARBAGE = [
    "",
    "  ",
    "Short Url",
    "Updated 3 min 55 sec ago",
    "Follow",
    "1 / 5",
    "- x",
    "  • ",
    "https://arab.news/abc",
    "Ø§Ù„Ø¹Ø±Ø¨ÙŠØ©",
    "â€œ",
    "\ufffd",
    "(AFP)",
    "ISLAMABAD:",
]
# NUL bytes are refused before parsing (tests/ingest/test_read.py); surrogates cannot be encoded.
ALPHABET = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
SETTINGS = settings(
    max_examples=int(os.environ.get("NEWSPACK_PROPERTY_EXAMPLES", "12")),  # `nox -s fuzz`: more
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(text: str) -> None:
    try:
        dump = read_bytes(text.encode("utf-8"), "009_feedface.txt")
    except DumpError as error:  # refused (empty, binary): a clear error with file and line
        assert str(error).startswith(f"009_feedface.txt: line {error.line}: ")
        assert 1 <= error.line <= text.count("\n") + text.count("\r") + 1
        return
    rows = identify([parse_dump(dump)])
    ledger_lines = sorted(r["line"] for r in rows["line_ledger"])
    assert ledger_lines == list(range(1, len(dump.lines) + 1))
    validate_tables({t: to_frame(t, rows[t]) for t in table_names()})


@SETTINGS
@given(st.text(ALPHABET, max_size=400))
def test_any_text(text):
    _check(text)


@st.composite
def mutated_dumps(draw):
    start = draw(st.integers(0, len(REAL_LINES) - 1))
    lines = REAL_LINES[start : start + draw(st.integers(1, 150))]
    for _ in range(draw(st.integers(0, 12))):
        action = draw(st.sampled_from(["delete", "insert", "duplicate", "move"]))
        i = draw(st.integers(0, len(lines) - 1))
        if action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "insert":
            lines.insert(i, draw(st.sampled_from(GARBAGE) | st.text(ALPHABET, max_size=30)))
        elif action == "duplicate":
            lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    text = "\n".join(lines)
    if draw(st.booleans()):  # shuffle the blocks between double blank lines
        blocks = text.split("\n\n\n")
        text = "\n\n\n".join(draw(st.permutations(blocks)))
    cut = draw(st.integers(0, len(text)))
    return text[:cut] if draw(st.booleans()) else text


@SETTINGS
@given(mutated_dumps())
def test_mutated_real_dumps(text):
    _check(text)


def test_short_link_in_a_body_before_a_long_paragraph():
    # Found by test_mutated_real_dumps: a short link followed by a paragraph is no header.
    paragraph = next(line for line in REAL_LINES if len(line) > 400)
    _check(f"https://arab.news/abc\n\n{paragraph}\n")
