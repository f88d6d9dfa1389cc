"""Stages 1-4, the store by URL: the cache of dump results in any fsspec file system.

On a cluster the workers and the client must all reach the store. A folder they all mount
is an ordinary cache path (cache.DumpCache); anything else is an fsspec URL: `file://`
(tested), `s3://` or `gs://` once the user installs s3fs or gcsfs. The layout is a
DumpCache's (<root>/<build fingerprint>/<key>.pickle, <key>.summary.pickle, the same owner
markers), so the same entry keys address the same results whichever executor wrote them,
and `--store file:///x` and `--store /x` are one store.

What is checked, through fsspec, before anything is written or deleted: the root and each
fingerprint folder carry newspack's owner marker (package/ownership.py); a root that holds
anything else is refused, and only a marked fingerprint folder of another fingerprint is
ever removed. What cannot be checked remotely: symbolic links (object stores have none; a
`file://` path's links are followed) and another tool writing under the same prefix
after the check. An entry is written under a temporary name, then moved into place (a
rename on a file system, a whole object on an object store): no reader sees half of one.

Imported only when a URL is given (fsspec comes with the `cluster` extra).
"""

from __future__ import annotations

import json
import pickle
import uuid
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from newspack.config import OWNER_MARKER_NAME
from newspack.execution.cache import (
    CACHE_KIND,
    ENTRIES_KIND,
    PLACES_INDEX_NAME,
    SUMMARY_PART,
    EntryWriter,
    collector_paused,
)
from newspack.execution.fingerprint import build_fingerprint
from newspack.package.ownership import NotOwned, marker_says


def _loads(data: bytes):
    with collector_paused():
        return pickle.loads(data)


class UrlCache(EntryWriter):
    """Cached results by entry key, in <url>/<build fingerprint>/, through fsspec."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.folder = f"{self.root}/{build_fingerprint()}"
        self.unreadable: list[str] = []
        self._claim(self.root, CACHE_KIND)
        self._claim(self.folder, ENTRIES_KIND)

    def _owned(self, folder: str, kind: str) -> bool:
        try:
            return marker_says(self.fs.cat_file(f"{folder}/{OWNER_MARKER_NAME}"), kind)
        except OSError:
            return False

    def _claim(self, folder: str, kind: str) -> None:
        """Make `folder` newspack's `kind` folder: it must be newspack's already, or empty."""
        if self._owned(folder, kind):
            return
        try:
            held = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            held = []
        if held:
            raise NotOwned(
                f"{self.fs.unstrip_protocol(folder)}: holds files newspack did not create; "
                "newspack only writes its own folders. Choose a new or empty location."
            )
        self.fs.makedirs(folder, exist_ok=True)
        marker = {"tool": "newspack", "kind": kind, "id": uuid.uuid4().hex}
        self.fs.pipe_file(f"{folder}/{OWNER_MARKER_NAME}", json.dumps(marker).encode())

    def reachable(self) -> bool:
        """True where this process sees the entries folder the build made."""
        return self._owned(self.folder, ENTRIES_KIND)

    def places_index(self) -> Path | None:
        """The place index is a local file: kept beside the entries only on a file:// store
        (elsewhere it is built from geonames, a few seconds)."""
        if isinstance(self.fs, LocalFileSystem):
            return Path(self.folder) / PLACES_INDEX_NAME
        return None

    def _path(self, key: str, part: str = "") -> str:
        return f"{self.folder}/{key}{part}.pickle"

    def path_of(self, key: str) -> str:
        """The URL of an entry's result."""
        return self.fs.unstrip_protocol(self._path(key))

    def get(self, key: str):
        """The cached result, or None when there is none or it cannot be read."""
        return self._get(self._path(key))

    def get_summary(self, key: str):
        """The summary cached with a result, or None (also when the result is missing)."""
        if not self.fs.exists(self._path(key)):
            return None
        return self._get(self._path(key, SUMMARY_PART))

    def _get(self, path: str):
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            return None
        try:
            return _loads(data)
        except Exception as error:  # any unreadable entry is only a miss
            self.unreadable.append(f"{self.fs.unstrip_protocol(path)}: {type(error).__name__}")
            return None

    def load(self, key: str):
        """An entry this build has written (an error if it has gone since)."""
        return _loads(self.fs.cat_file(self._path(key)))

    def _write(self, path: str, value) -> None:
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        self.fs.pipe_file(temporary, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        self.fs.mv(temporary, path)

    def remove_stale(self) -> None:
        """Delete the folders of other fingerprints; unmarked folders are left alone."""
        for entry in self.fs.ls(self.root, detail=True):
            name = entry["name"].rstrip("/")
            if entry["type"] != "directory" or name == self.folder.rstrip("/"):
                continue
            if self._owned(name, ENTRIES_KIND):
                self.fs.rm(name, recursive=True)
