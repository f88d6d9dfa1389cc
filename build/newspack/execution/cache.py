"""Stages 1-4, the cache: each dump's parse and analysis, kept between builds.

An entry is found by the dump's content hash (SHA-256 of its bytes) and its crawl-time
override, under a folder named by the build fingerprint (fingerprint.py: a hash of the
per-dump stages' code and rules and of the versions of spaCy, the model and quantulum3).
Any change to the parser, a rule it reads or a model therefore starts a new, empty cache
(and the stale ones are removed), so a cached result is always what this code would
compute.

The same folder keeps the offline place index (places.py), which takes seconds to build
from geonames and a fraction of one to load. Entries are pickles written atomically, each
result with a small summary beside it that a build reads first (store.py); the
cache is never published. Workers write to it from their own processes (the object is
sent to them), so on a cluster it must be a folder every worker shares, or a URL
(urlstore.py, the same layout). An entry that cannot be read is recomputed and rewritten.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from newspack.execution.fingerprint import build_fingerprint
from newspack.package.ownership import make_owned_dir, owned, remove_owned

CACHE_DIRNAME = ".newspack-cache"
PLACES_INDEX_NAME = "places.pickle"  # places.GeoIndex, kept beside the dumps' entries
CACHE_KIND, ENTRIES_KIND = "cache", "cache-entries"  # owner markers of the two levels
SUMMARY_PART = ".summary"  # <key>.summary.pickle: what a build needs of an entry up front


@contextmanager
def collector_paused() -> Iterator[None]:
    """Unpickling makes many objects that all live on; the cyclic collector would otherwise
    run over the whole heap again and again while they are made (most of a load's time once
    the build holds its tables)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(path: Path):
    with path.open("rb") as stream, collector_paused():
        return pickle.load(stream)


def entry_key(content_sha256: str, crawl_time: datetime | None) -> str:
    override = crawl_time.isoformat() if crawl_time else ""
    return hashlib.sha256(f"{content_sha256}|{override}".encode()).hexdigest()


class EntryWriter:
    """How a store writes an entry: the result, then its summary (DumpCache, and UrlCache
    in urlstore.py, give _path and an atomic _write)."""

    def put(self, key: str, result, summary=None) -> None:
        """Keep a result and, when given, its summary (written last: a summary found means
        its result was written)."""
        self._write(self._path(key), result)
        if summary is not None:
            self.put_summary(key, summary)

    def put_summary(self, key: str, summary) -> None:
        self._write(self._path(key, SUMMARY_PART), summary)


class DumpCache(EntryWriter):
    """Cached results by entry key, in <root>/<build fingerprint>/.

    The root and each fingerprint folder carry newspack's owner marker (ownership.py): a
    root holding anything else is refused (NotOwned), and only marked folders are removed.
    """

    def __init__(self, root: Path):
        self.root = root
        self.folder = root / build_fingerprint()
        self.unreadable: list[str] = []  # entries that could not be read (recomputed)
        make_owned_dir(root, CACHE_KIND)
        make_owned_dir(self.folder, ENTRIES_KIND)

    def reachable(self) -> bool:
        """True where this process sees the entries folder the build made (a worker on
        another machine does only when the folder is shared)."""
        return owned(self.folder, ENTRIES_KIND)

    def places_index(self) -> Path | None:
        """Where the place index is kept beside the entries."""
        return self.folder / PLACES_INDEX_NAME

    def _path(self, key: str, part: str = "") -> Path:
        return self.folder / f"{key}{part}.pickle"

    def path_of(self, key: str) -> Path:
        """Where the result of an entry is kept."""
        return self._path(key)

    def get(self, key: str):
        """The cached result, or None when there is none or it cannot be read."""
        return self._get(self._path(key))

    def get_summary(self, key: str):
        """The summary cached with a result (small: read without the result), or None."""
        if not self._path(key).exists():
            return None
        return self._get(self._path(key, SUMMARY_PART))

    def _get(self, path: Path):
        if not path.exists():
            return None
        try:
            return _read(path)
        except Exception as error:  # any unreadable entry is only a miss
            self.unreadable.append(f"{path}: {type(error).__name__}: {error}")
            return None

    def load(self, key: str):
        """An entry this build has written (an error if it has gone since)."""
        return _read(self._path(key))

    def _write(self, path: Path, value) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)

    def remove_stale(self) -> None:
        """Delete the folders of other fingerprints (results of other code or models); a
        folder without newspack's marker is the user's and is left alone."""
        for folder in self.root.iterdir():
            if folder != self.folder:
                remove_owned(folder, ENTRIES_KIND)
