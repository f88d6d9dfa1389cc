"""After the build (releases), fetch: find a release in the index, download, verify it.

pooch downloads into a cache, checks the SHA-256 the index gives before the file takes its
name, and skips the download when a verified copy is already cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pooch
import requests


class FetchError(RuntimeError):
    pass


def load_index(index: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The releases index, from a file, a URL or an already loaded dict; FetchError naming
    the index when it cannot be read or is not a releases index."""
    if isinstance(index, dict):
        return index
    text = str(index)
    try:
        if text.startswith(("http://", "https://")):
            with urllib.request.urlopen(text, timeout=30) as response:
                content = json.loads(response.read())
        else:
            content = json.loads(_local_path(text).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FetchError(f"{text}: cannot read the releases index ({error})") from error
    releases = content.get("releases") if isinstance(content, dict) else None
    if not isinstance(releases, list) or not all(
        isinstance(r, dict) and {"version", "url", "sha256"} <= r.keys() for r in releases
    ):
        raise FetchError(
            f"{text}: not a releases index (a 'releases' list of entries with version, url "
            "and sha256)"
        )
    return content


def _local_path(location: str) -> Path:
    """A file:// URL or a plain path as a path."""
    if location.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(location).path))
    return Path(location)


def _copy_verified(source: Path, sha256: str, target: Path) -> Path:
    """A local release (file:// or a path) copied into the cache once its checksum matches."""
    if target.is_file() and _sha256(target) == sha256:
        return target
    if target.is_symlink() or target.is_dir():
        raise FetchError(f"{target}: in the way of the download (not a regular file)")
    if not source.is_file():
        raise FetchError(f"{source}: release file not found")
    if (found := _sha256(source)) != sha256:
        raise FetchError(
            f"{source} does not match its checksum sha256:{sha256} (it is sha256:{found}); "
            "refused and not kept"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    return target


def _check_cache_target(cache: Path, target: Path, sha256: str) -> None:
    """The download cache must be a folder, and a file already at the release's name must be
    that release: newspack never replaces a file it cannot prove it downloaded."""
    if cache.exists() and not cache.is_dir():
        raise FetchError(f"{cache}: not a folder; --cache must name a folder")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise FetchError(f"{target}: in the way of the download (not a regular file)")
    if target.is_file() and _sha256(target) != sha256:
        raise FetchError(
            f"{target}: exists and is not release sha256:{sha256}; newspack will not replace "
            "it (move it away or choose another --cache)"
        )


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def fetch(
    version: str,
    index: str | Path | dict[str, Any],
    cache_dir: Path | None = None,
) -> Path:
    """Path of the verified release zip of `version`, downloaded unless already cached."""
    releases = load_index(index)["releases"]
    entry = next((r for r in releases if str(r["version"]) == version), None)
    if entry is None:
        known = ", ".join(str(r["version"]) for r in releases) or "none"
        raise FetchError(f"no release {version} in the index (releases: {known})")
    cache = Path(cache_dir) if cache_dir else Path(pooch.os_cache("newspack"))
    url = str(entry["url"])
    fname = Path(urllib.parse.urlparse(url).path).name or f"newspack-{version}.zip"
    if cache_dir is not None:  # newspack's own download cache it may refresh; a user's not
        _check_cache_target(cache, cache / fname, str(entry["sha256"]))
    if not url.startswith(("http://", "https://", "ftp://", "sftp://", "doi:")):
        return _copy_verified(_local_path(url), entry["sha256"], cache / fname)
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{entry['sha256']}",
            fname=fname,
            path=cache,
            progressbar=False,
        )
    except (requests.RequestException, OSError) as error:
        raise FetchError(f"could not download release {version} from {url}: {error}") from error
    except ValueError as error:
        raise FetchError(
            f"release {version} downloaded from {url} does not match its checksum "
            f"sha256:{entry['sha256']}; the download was refused and not kept ({error})"
        ) from error
    return Path(path)
