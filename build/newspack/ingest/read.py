"""Stage 1, read: decode a dump file into numbered, repaired lines.

Refuses what is not a text dump (NUL bytes, undecodable bytes) with an error naming the file
and line; everything else is read whole, so later stages can account for every line.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from newspack.config import DUMP_NAME_PATTERN
from newspack.ingest.textfix import repair_line

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BYTE_LINE_BREAK = re.compile(rb"(\r\n|\r|\n)")
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0 control bytes other than tab, line feed, vertical tab, form feed and carriage return.
_BINARY_CONTROL = re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
MAX_CONTROL_BYTES = 8


class DumpError(Exception):
    """A dump that cannot be read as text; the message names the file and line."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.line = line


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


@dataclass(frozen=True)
class UnreadDump:
    """A dump file that was not parsed: refused (unreadable) or a duplicate of another."""

    dump_id: str
    file: str
    crawl_order: int | None
    sha256: str
    bytes: int
    status: str  # refused | duplicate
    problem: str | None = None
    error_line: int | None = None
    duplicate_of: str | None = None


def crawl_sort_key(crawl_order: int | None, dump_id: str) -> tuple:
    """Dumps in crawl order (the NNN of NNN_<hash>.txt); other names after, by name."""
    return (crawl_order is None, crawl_order if crawl_order is not None else 0, dump_id)


def dump_id_for(path: Path) -> str:
    return path.stem


def unreadable_reason(error: Exception, name: str) -> str:
    """Why the file `name` could not be read, without its path (the message names it)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).removeprefix(f"{name}: ")


def file_identity(file: str, data: bytes) -> dict:
    """What names a dump file whether or not it can be read: id, name, order, checksum, size."""
    return identity_of(file, hashlib.sha256(data).hexdigest(), len(data))


def identity_of(file: str, sha256: str, size: int) -> dict:
    """file_identity from a checksum and size taken earlier (the bytes are not at hand)."""
    path = Path(file)
    return {
        "dump_id": dump_id_for(path),
        "file": path.name,
        "crawl_order": crawl_order_for(path),
        "sha256": sha256,
        "bytes": size,
    }


def crawl_order_for(path: Path) -> int | None:
    """The NNN of NNN_<hash>.txt, or None for a name that does not follow the rule."""
    match = re.fullmatch(DUMP_NAME_PATTERN, path.stem)
    return int(match["crawl_order"]) if match else None


def _line_of_offset(data: bytes, offset: int) -> int:
    return len(_LINE_BREAK.findall(data[:offset].decode("latin-1"))) + 1


def _utf16_without_bom(data: bytes) -> str | None:
    """ "LE" or "BE" when the bytes look like UTF-16 text without a byte order mark: NUL
    bytes at nearly every odd (LE) or even (BE) offset, as ASCII-range text gives."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    odd, even = sample[1::2], sample[0::2]
    for zeros, order in ((odd, "LE"), (even, "BE")):
        if zeros.count(0) >= 0.6 * len(zeros):
            return order
    return None


def _refuse_binary(data: bytes, file: str) -> None:
    if not data:
        raise DumpError(f"{file}: line 1: empty file, no text to read")
    if b"\x00" in data and not data.startswith(_UTF16_BOMS):
        if order := _utf16_without_bom(data):
            raise DumpError(
                f"{file}: line 1: looks like UTF-16 ({order}) without a byte order mark; "
                f"convert it to UTF-8 (iconv -f UTF-16{order} -t UTF-8)"
            )
        line = _line_of_offset(data, data.index(b"\x00"))
        raise DumpError(
            f"{file}: line {line}: NUL byte; this is binary data, not a text dump", line
        )
    if data.startswith(_UTF16_BOMS):
        return  # its bytes are not characters: checked once decoded (decode)
    controls = _BINARY_CONTROL.findall(data)
    if len(controls) > max(MAX_CONTROL_BYTES, len(data) // 100):
        line = _line_of_offset(data, data.index(controls[0]))
        raise DumpError(
            f"{file}: line {line}: {len(controls)} control bytes; this is binary data, "
            "not a text dump",
            line,
        )


def _decode_lines(data: bytes, file: str) -> tuple[str, str]:
    """Bytes that are not UTF-8 as a whole, decoded line by line: UTF-8 where a line is,
    else Windows-1252 (a dump pasted together from pages of both). The encoding is
    windows-1252 when no line needed UTF-8, else mixed; a line that is neither is refused,
    naming its line and byte."""
    pieces = _BYTE_LINE_BREAK.split(data)
    decoded, utf8_lines = [], 0
    for index, piece in enumerate(pieces):
        if index % 2:  # a line break
            decoded.append(piece.decode("ascii"))
            continue
        try:
            decoded.append(piece.decode("utf-8"))
            utf8_lines += not piece.isascii()
        except UnicodeDecodeError:
            try:
                decoded.append(piece.decode("cp1252"))
            except UnicodeDecodeError as error:
                number = index // 2 + 1
                raise DumpError(
                    f"{file}: line {number}: byte 0x{piece[error.start]:02x} at column "
                    f"{error.start + 1} is neither UTF-8 nor Windows-1252; re-encode the dump "
                    "as UTF-8",
                    number,
                ) from error
    return "".join(decoded), "mixed" if utf8_lines else "windows-1252"


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Decode dump bytes; return (text, encoding).

    UTF-8 with or without BOM, UTF-16 with a BOM; otherwise line by line, each line UTF-8
    or else Windows-1252 (the code page of the mojibake these pages show): windows-1252
    when no line is UTF-8, mixed when both occur. Anything else, binary data and text of
    only whitespace are refused with the file and line.
    """
    _refuse_binary(data, file)
    if data.startswith(_UTF16_BOMS):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise DumpError(f"{file}: UTF-16 byte order mark, but {error.reason}") from error
        controls = _TEXT_CONTROL.findall(text)
        if len(controls) > max(MAX_CONTROL_BYTES, len(text) // 100):
            raise DumpError(f"{file}: line 1: {len(controls)} control characters; binary data")
    else:
        encoding = "utf-8-sig" if data.startswith(_BOM) else "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            body = data[len(_BOM) :] if data.startswith(_BOM) else data
            text, encoding = _decode_lines(body, file)
    if not text.strip():
        raise DumpError(f"{file}: line 1: only whitespace, no text to read")
    return text, encoding


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
    return Dump(
        **file_identity(file, data),
        encoding=encoding,
        newline=newline,
        lines=tuple(lines),
    )


def read_file(path: Path, follow_links: bool = False) -> bytes:
    """The bytes of a dump file, read as untrusted input: a symbolic link is refused, or
    with follow_links followed only to a file inside the dump's own folder; anything but a
    regular file (a folder, a pipe, a device) is refused. Raises DumpError with the reason,
    OSError when the file cannot be read."""
    if path.is_symlink():
        if not follow_links:
            raise DumpError(
                f"{path.name}: a symbolic link; links are not followed (newspack build "
                "--follow-links reads links to files inside the dumps folder)"
            )
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as error:  # dangling link, or a loop
            raise DumpError(f"{path.name}: a broken symbolic link ({error})") from error
        if not target.is_relative_to(path.parent.resolve()):
            raise DumpError(f"{path.name}: a symbolic link to a file outside the dumps folder")
        path = target
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    handle = os.open(path, flags)
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise DumpError(f"{path.name}: not a regular file (a folder, pipe or device)")
        return stream.read()


def read_dump(path: Path) -> Dump:
    """Read one dump file."""
    return read_bytes(read_file(path), path.name)
