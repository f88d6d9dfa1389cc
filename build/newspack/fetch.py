"""Download by version: find a release in the releases index, download and verify it.

pooch downloads into a cache, checks the SHA-256 the index gives before the file takes its
name, and skips the download when a verified copy is already cached.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pooch
import requests

from newspack.config import RELEASES_INDEX_NAME, REPO_ROOT

DEFAULT_INDEX = REPO_ROOT / RELEASES_INDEX_NAME


class FetchError(RuntimeError):
    pass


def load_index(index: str | Path | dict[str, Any] = DEFAULT_INDEX) -> dict[str, Any]:
    """The releases index, from a file, a URL or an already loaded dict."""
    if isinstance(index, dict):
        return index
    text = str(index)
    if text.startswith(("http://", "https://")):
        with urllib.request.urlopen(text, timeout=30) as response:
            return json.loads(response.read())
    return json.loads(Path(text).read_text(encoding="utf-8"))


def fetch(
    version: str,
    index: str | Path | dict[str, Any] = DEFAULT_INDEX,
    cache_dir: Path | None = None,
) -> Path:
    """Path of the verified release zip of `version`, downloaded unless already cached."""
    releases = load_index(index)["releases"]
    entry = next((r for r in releases if r["version"] == version), None)
    if entry is None:
        known = ", ".join(r["version"] for r in releases) or "none"
        raise FetchError(f"no release {version} in the index (releases: {known})")
    cache = Path(cache_dir) if cache_dir else Path(pooch.os_cache("newspack"))
    try:
        path = pooch.retrieve(
            entry["url"],
            known_hash=f"sha256:{entry['sha256']}",
            fname=Path(entry["url"]).name,
            path=cache,
            progressbar=False,
        )
    except requests.RequestException as error:
        raise FetchError(
            f"could not download release {version} from {entry['url']}: {error}"
        ) from error
    except ValueError as error:
        raise FetchError(
            f"release {version} downloaded from {entry['url']} does not match its checksum "
            f"sha256:{entry['sha256']}; the download was refused and not kept ({error})"
        ) from error
    return Path(path)
