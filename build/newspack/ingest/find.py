"""Stage 1, read (finding the dumps): which files of a dumps folder are read, in crawl order.

Dumps are untrusted input: links, folders, pipes and names that cannot be published are
left out with a warning naming the entry, never followed or read by accident.
"""

from __future__ import annotations

import re
from pathlib import Path

from newspack.config import DUMP_NAME_PATTERN
from newspack.ingest.read import crawl_order_for, crawl_sort_key, dump_id_for

DUMP_SUFFIX = ".txt"


def dump_order(path: Path) -> tuple:
    """Crawl order (the NNN of NNN_<hash>.txt); other names after, by name."""
    return crawl_sort_key(crawl_order_for(path), dump_id_for(path))


def find_dumps(dumps_dir: Path, follow_links: bool = False) -> tuple[list[Path], list[str]]:
    """Dump files in crawl order, and a warning for each entry that is left out or breaks
    the naming rule.

    Rule: every *.txt file is a dump. One named other than NNN_<hash>.txt is read all the
    same, with no crawl order (after the named ones) and a warning; other files are left
    out with a warning. Dumps are untrusted: a *.txt entry that is a symbolic link (unless
    follow_links, and then only to a file inside dumps_dir), a folder or another special
    file is left out with a warning.
    """
    if not dumps_dir.exists():
        raise FileNotFoundError(f"dumps folder not found: {dumps_dir}")
    if not dumps_dir.is_dir():
        raise FileNotFoundError(f"--dumps must name a folder of dumps, not a file: {dumps_dir}")
    paths, warnings = [], []
    for path in sorted(dumps_dir.iterdir()):
        if not path.name.endswith(DUMP_SUFFIX):
            if path.is_file() and not path.is_symlink():
                warnings.append(f"{printable(path.name)}: not a .txt dump, left out")
            continue
        if not _publishable_name(path.name):
            warnings.append(
                f"{printable(path.name)}: a name with control characters, bytes that are not "
                "UTF-8 or nothing before .txt cannot be published; rename it; left out"
            )
            continue
        if problem := _untrusted_entry(path, follow_links):
            warnings.append(f"{problem}; left out")
            continue
        paths.append(path)
        if not re.fullmatch(DUMP_NAME_PATTERN, path.stem):
            warnings.append(
                f"{path.name}: name does not follow NNN_<hash>.txt; read with no "
                "crawl order, after the numbered dumps"
            )
    return sorted(paths, key=dump_order), warnings


def _publishable_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the file name (surrogate escapes)
        return False
    return name != DUMP_SUFFIX and name.isprintable()


def printable(text: str) -> str:
    """A name as it can be shown on one line: control characters and undecodable bytes
    escaped ("\\n", "\\udcff")."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode()
        for c in text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )


def _untrusted_entry(path: Path, follow_links: bool) -> str | None:
    """Why a *.txt entry of the dumps folder is not read, or None for a dump to read."""
    try:
        if path.is_symlink():
            read_file_target = path.resolve(strict=True) if follow_links else None
            if read_file_target is None:
                return (
                    f"{path.name}: a symbolic link, not followed (--follow-links reads links "
                    "to files inside the dumps folder)"
                )
            if not read_file_target.is_relative_to(path.parent.resolve()):
                return f"{path.name}: a symbolic link to a file outside the dumps folder"
            path = read_file_target
    except (OSError, RuntimeError):
        return f"{path.name}: a broken symbolic link (missing target or a loop)"
    if not path.is_file():
        return f"{path.name}: not a regular file (a folder, pipe or device)"
    return None
