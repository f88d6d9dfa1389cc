"""Stage 1, read: decode a dump file into numbered, repaired lines.

Refuses what is not a text dump (NUL bytes, undecodable bytes) with an error naming the file
and line; everything else is read whole, so later stages can account for every line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from newspack.config import DUMP_NAME_PATTERN
from newspack.textfix import repair_line

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class DumpError(Exception):
    """A dump that cannot be read as text; the message names the file and line."""


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    raw: str  # as decoded
    text: str  # encoding damage repaired, whitespace kept
    encoding_status: str


@dataclass(frozen=True)
class Dump:
    dump_id: str
    file: str
    crawl_order: int | None
    sha256: str
    bytes: int
    encoding: str
    newline: str
    lines: tuple[Line, ...]


def dump_id_for(path: Path) -> str:
    return path.stem


def crawl_order_for(path: Path) -> int | None:
    """The NNN of NNN_<hash>.txt, or None for a name that does not follow the rule."""
    match = re.fullmatch(DUMP_NAME_PATTERN, path.stem)
    return int(match["crawl_order"]) if match else None


def _line_of_offset(data: bytes, offset: int) -> int:
    return len(_LINE_BREAK.findall(data[:offset].decode("latin-1"))) + 1


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Decode dump bytes as UTF-8 (with or without BOM); return (text, encoding)."""
    if b"\x00" in data:
        line = _line_of_offset(data, data.index(b"\x00"))
        raise DumpError(f"{file}: line {line}: NUL byte; this is binary data, not a text dump")
    encoding = "utf-8-sig" if data.startswith(_BOM) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as error:
        line = _line_of_offset(data, error.start)
        raise DumpError(
            f"{file}: line {line}: byte 0x{data[error.start]:02x} at offset {error.start} is not "
            "UTF-8; re-encode the dump as UTF-8"
        ) from error


def split_lines(text: str) -> tuple[list[str], str]:
    """Split on LF, CRLF or CR only (not on the other characters str.splitlines breaks at)."""
    breaks = set(_LINE_BREAK.findall(text))
    newline = (
        {"\n": "lf", "\r\n": "crlf", "\r": "cr"}[breaks.pop()]
        if len(breaks) == 1
        else ("mixed" if breaks else "none")
    )
    pieces = _LINE_BREAK.split(text)
    if pieces and pieces[-1] == "":
        pieces.pop()  # the text ends with a line break: no line after it
    return pieces, newline


def read_bytes(data: bytes, file: str) -> Dump:
    """Read dump bytes; `file` is the dump's file name (it gives dump_id and crawl order)."""
    text, encoding = decode(data, file)
    raw_lines, newline = split_lines(text)
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        repaired, status = repair_line(raw)
        lines.append(Line(number, raw, repaired, status))
    path = Path(file)
    return Dump(
        dump_id=dump_id_for(path),
        file=path.name,
        crawl_order=crawl_order_for(path),
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        encoding=encoding,
        newline=newline,
        lines=tuple(lines),
    )


def read_dump(path: Path) -> Dump:
    """Read one dump file."""
    return read_bytes(path.read_bytes(), path.name)
