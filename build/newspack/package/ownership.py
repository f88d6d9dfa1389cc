"""Stage 8, publish (ownership): what newspack may delete or replace in a user's folders.

newspack deletes or replaces only what it created and can prove it owns:

- folders it makes (the cache, its fingerprint folders, staging and scratch folders) carry
  a marker file naming newspack and the folder's kind; only a folder with the right marker
  is ever removed, and never through a symbolic link;
- the published files of an output folder (`datapackage.json`, `data/`, the DuckDB file)
  are replaced only when they are newspack's: a descriptor of this package, a `data/`
  holding nothing but the CSVs that descriptor names, a DuckDB file holding the package's
  tables. Anything else makes the build refuse, with a message, before it writes a byte.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from pathlib import Path

from newspack.config import DATA_DIRNAME, DESCRIPTOR_NAME, OWNER_MARKER_NAME

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
DUCKDB_MAGIC_OFFSET = 8
# Tables whose presence shows a DuckDB file is a newspack package (see schemas/).
DUCKDB_SIGNATURE_TABLES = {"dumps", "line_ledger", "article_versions"}


class NotOwned(RuntimeError):
    """A path newspack would have to delete or replace, but did not create."""


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_real_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def mark(folder: Path, kind: str) -> None:
    """Write the marker that proves newspack made `folder` (as a `kind` folder)."""
    marker = folder / OWNER_MARKER_NAME
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(marker, flags, 0o644), "w", encoding="utf-8") as stream:
        json.dump({"tool": "newspack", "kind": kind, "id": uuid.uuid4().hex}, stream)


def owned(folder: Path, kind: str) -> bool:
    """True when `folder` is a real folder (no link) carrying newspack's `kind` marker."""
    marker = folder / OWNER_MARKER_NAME
    if not _is_real_dir(folder) or not _is_real_file(marker):
        return False
    try:
        return marker_says(marker.read_bytes(), kind)
    except OSError:
        return False


def marker_says(text: bytes | str, kind: str) -> bool:
    """Whether an owner marker's text says newspack made the folder as `kind`."""
    try:
        content = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(content, dict)
        and content.get("tool") == "newspack"
        and content.get("kind") == kind
    )


def make_owned_dir(folder: Path, kind: str) -> Path:
    """Create `folder` (its parents as needed) and mark it; an existing folder is claimed only
    when it is empty or already newspack's `kind` folder."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        if owned(folder, kind):
            return folder
        if not _is_real_dir(folder) or any(folder.iterdir()):
            raise NotOwned(
                f"{folder}: exists and holds files newspack did not create; newspack only "
                "writes its own folders. Choose a new or empty folder."
            ) from None
    mark(folder, kind)
    return folder


def remove_owned(folder: Path, kind: str) -> bool:
    """Delete `folder` if (and only if) it is newspack's `kind` folder; True when deleted."""
    if not owned(folder, kind):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _descriptor_files(out_dir: Path) -> set[str] | None:
    """Names of the files in data/ that a newspack descriptor in out_dir lists; None when
    out_dir holds no descriptor. Raises NotOwned for a descriptor that is not newspack's."""
    from newspack.package.schema import package_metadata

    path = out_dir / DESCRIPTOR_NAME
    if not os.path.lexists(path):
        return None
    refusal = f"{path}: not a data package newspack wrote, so it will not be replaced"
    if not _is_real_file(path):
        raise NotOwned(f"{refusal} (not a regular file)")
    try:
        package = json.loads(path.read_text(encoding="utf-8"))
        resources = package["resources"]
        paths = [Path(r["path"]) for r in resources]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NotOwned(f"{refusal} ({type(error).__name__}: {error})") from None
    if package.get("name") != package_metadata()["name"] or any(
        p.parent.as_posix() != DATA_DIRNAME for p in paths
    ):
        raise NotOwned(f"{refusal} (another package's descriptor)")
    return {p.name for p in paths}


def check_output(out_dir: Path) -> None:
    """Refuse (NotOwned) to publish into out_dir when its descriptor or data/ is not newspack's."""
    if os.path.lexists(out_dir) and not _is_real_dir(out_dir.resolve()):
        raise NotOwned(f"{out_dir}: not a folder; --out must name a folder")
    listed = _descriptor_files(out_dir)
    data = out_dir / DATA_DIRNAME
    if not os.path.lexists(data):
        return
    if not _is_real_dir(data):
        raise NotOwned(f"{data}: not a folder newspack made (a file or a link); move it away")
    foreign = sorted(
        entry.name
        for entry in data.iterdir()
        if listed is None or entry.name not in listed or not _is_real_file(entry)
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise NotOwned(
            f"{data}: holds files newspack did not write ({shown}); it would be replaced "
            "whole, so the build refuses. Move them away or choose another --out."
        )


def check_duckdb_place(path: Path, out_dir: Path, cache_root: Path | None) -> None:
    """Refuse (NotOwned) a DuckDB path that is one of newspack's own: the descriptor, a file
    in data/, the lock, the journal, a staging or scratch folder, or the cache."""
    # Resolved: "dist/../data/x.duckdb" and links into data/ are data/ too.
    path, out_dir = path.resolve(), out_dir.resolve()
    own = [
        out_dir / DESCRIPTOR_NAME,
        out_dir / ".newspack.lock",
        out_dir / ".newspack-publish.json",
    ]
    inside = [out_dir / DATA_DIRNAME] + ([cache_root.resolve()] if cache_root else [])
    # A staging or scratch folder (publish.py, store.py, tables/corpus.py), or inside one.
    parts = path.relative_to(out_dir).parts if path.is_relative_to(out_dir) else ()
    staged = bool(parts) and parts[0].startswith(
        (".newspack-staging-", ".newspack-store-", ".newspack-tables-")
    )
    if (
        path in own
        or staged
        or any(path == folder or path.is_relative_to(folder) for folder in inside)
        or path == out_dir
    ):
        raise NotOwned(
            f"{path}: --duckdb names a file newspack publishes or keeps in the output folder; "
            "give it a path of its own"
        )
    parent = path.parent
    if os.path.lexists(parent) and not _is_real_dir(parent.resolve()):
        raise NotOwned(f"{parent}: not a folder, so the DuckDB file cannot be written there")


def check_duckdb_target(path: Path) -> None:
    """Refuse (NotOwned) to replace `path` unless it is missing or a newspack DuckDB file."""
    if not os.path.lexists(path):
        return
    if not _is_real_file(path):
        raise NotOwned(f"{path}: exists and is not a regular file; --duckdb must name a file")
    with path.open("rb") as stream:
        head = stream.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC or not _has_package_tables(path):
        raise NotOwned(
            f"{path}: exists and is not a DuckDB file of this package; newspack will not "
            "replace it. Choose another --duckdb."
        )


def _has_package_tables(path: Path) -> bool:
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        names = {row[0] for row in rows}
    except duckdb.Error:
        return False
    return names >= DUCKDB_SIGNATURE_TABLES
