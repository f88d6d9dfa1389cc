"""After the build (releases), fetch: find a release in the index, download, verify it.

The index and the release are untrusted (untrusted.py checks names, versions, URLs, sizes
and checksums): the release is downloaded into the cache under a temporary name and takes
its own name only once its size and SHA-256 are those the index gives; a verified copy
already in the cache is not downloaded again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from newspack.releases.untrusted import (
    LOCAL,
    Entry,
    FetchError,
    Origin,
    check_index,
    check_version,
    fetch_verified,
    index_origin,
    load_json,
    read_index,
    release_file_name,
    sha256_of,
    shown,
)

__all__ = ["FetchError", "fetch", "load_index"]


def _default_cache() -> Path:
    import pooch  # only for the platform's cache folder

    return Path(pooch.os_cache("newspack"))


def load_index(index: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The releases index, from a file, a URL or an already loaded dict, every entry
    checked; FetchError naming the index when it cannot be read or is not a releases index."""
    if isinstance(index, dict):
        check_index(index, "the releases index")
        return index
    text = str(index)
    content = load_json(read_index(text), text, FetchError)
    check_index(content, text)
    return content


def _entries(index: str | Path | dict[str, Any]) -> tuple[list[Entry], Origin]:
    if isinstance(index, dict):  # handed over by newspack itself: a local index
        return check_index(index, "the releases index"), LOCAL
    origin = index_origin(str(index))
    return check_index(load_index(index), str(index)), origin


def _check_cache_target(cache: Path, target: Path, sha256: str, own: bool) -> bool:
    """Whether a verified copy is already at `target`. The cache must be a folder, and a
    file already at the release's name must be that release, unless the cache is
    newspack's `own` (the default): newspack never replaces a file of a user's --cache it
    cannot prove it downloaded."""
    if os.path.lexists(cache) and not cache.is_dir():
        raise FetchError(f"{cache}: not a folder; --cache must name a folder")
    if not os.path.lexists(target):
        return False
    if target.is_symlink() or not target.is_file():
        raise FetchError(f"{target}: in the way of the download (not a regular file)")
    if sha256_of(target) == sha256:
        return True
    if own:
        return False
    raise FetchError(
        f"{target}: exists and is not release sha256:{sha256}; newspack will not replace "
        "it (move it away or choose another --cache)"
    )


def fetch(
    version: str,
    index: str | Path | dict[str, Any],
    cache_dir: Path | None = None,
) -> Path:
    """Path of the verified release zip of `version`, downloaded unless already cached."""
    version = check_version(version)
    entries, origin = _entries(index)
    entry = next((e for e in entries if e.version == version), None)
    if entry is None:
        known = ", ".join(e.version for e in entries) or "none"
        raise FetchError(f"no release {version} in the index (releases: {shown(known)})")
    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    target = cache / release_file_name(entry)
    if _check_cache_target(cache, target, entry.sha256, own=cache_dir is None):
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FetchError(f"{cache}: cannot be used as the download cache ({error})") from None
    return fetch_verified(entry, origin, target)
