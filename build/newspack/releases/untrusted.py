"""After the build (releases), opening: a releases index, a release zip or a package folder,
read as untrusted input.

A release may come from a mirror, a fork or a compromised host, so `fetch`, `query
--version`, `diff` and `site` open it only through this module:

- an index's versions must be semver, its checksums SHA-256, the file names it gives plain
  names; a remote index may name only https:// releases (http:// too when the index itself
  was typed as http://), never a local file; http:// and file:// come only from an index
  the user keeps on this machine;
- a download has connect and read timeouts and an overall time limit, follows a few
  redirects under the same rules, stops at the size the index declares and is checked
  against its SHA-256 before it takes its name in the cache;
- a zip is opened only when every member is one a package has (descriptor, checksums,
  DuckDB file, CSVs, Parquet files) under a plain relative name, stored or deflated, not
  encrypted, not a link, within the size and compression-ratio caps; members are streamed;
- a package folder is read like the build reads dumps: only the files a package has, only
  regular files, never through a link that leads out of the folder, each within a size cap.

Every refusal is a `Refused` error whose message is one line naming the file or URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from newspack import config
from newspack.config import DESCRIPTOR_NAME, DUCKDB_NAME
from newspack.ingest.find import printable

SUMS_NAME = "SHA256SUMS"  # in every release zip (release.write_release_zip)
# semver 2.0.0: MAJOR.MINOR.PATCH, an optional pre-release and build (no path characters).
SEMVER = re.compile(
    r"(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A file name from an index: no separators, no leading dot, nothing a shell or terminal reads.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")
# Table names become member and file names (Frictionless names, as the site allows).
TABLE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_TABLE = r"[a-z0-9][a-z0-9_-]{0,99}"
# Every member a release zip may hold (release.write_release_zip writes exactly these).
MEMBER = re.compile(
    rf"{re.escape(DESCRIPTOR_NAME)}|{SUMS_NAME}|{re.escape(DUCKDB_NAME)}"
    rf"|data/{_TABLE}\.csv|parquet/{_TABLE}\.parquet"
)
# A package folder holds these beside the members (the site reads them; a zip has none).
FOLDER_FILE = re.compile(
    rf"{MEMBER.pattern}|README\.md|CHANGELOG\.md|releases\.json|docs/[a-z][a-z0-9-]*\.md"
)
MAX_URL_CHARS = 2048


class Refused(Exception):
    """Untrusted input newspack will not use; the message names the file or URL and why."""


class FetchError(Refused, RuntimeError):
    """A release that cannot be found, downloaded or verified."""


class PackageError(Refused, ValueError):
    """A path that is not a readable data package (folder or release zip)."""


def shown(text: object) -> str:
    """Text from a release as one printable line (control characters escaped)."""
    return printable(str(text))


def load_json(data: bytes, where: str, error: type[Refused] = PackageError) -> Any:
    """JSON from untrusted bytes; `error` naming `where` for anything but UTF-8 JSON
    (deeply nested JSON included, which would otherwise exhaust Python's stack)."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        reason = "nested too deeply" if isinstance(problem, RecursionError) else problem
        raise error(f"{where}: not valid UTF-8 JSON ({shown(reason)})") from None


# --- the index -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where an index was read from, and so which release URLs it may name."""

    location: str
    schemes: frozenset[str]  # of release URLs; "file" includes plain paths
    folder: Path | None  # a local index's folder: plain relative paths are relative to it

    @property
    def local(self) -> bool:
        return "file" in self.schemes


LOCAL = Origin("the releases index", frozenset({"https", "http", "file"}), None)


def index_origin(location: str) -> Origin:
    """The origin of an index the user named: a path, file://, http:// or https://."""
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme == "https":
        return Origin(location, frozenset({"https"}), None)
    if scheme == "http":
        return Origin(location, frozenset({"https", "http"}), None)
    if scheme in ("", "file"):
        return Origin(location, LOCAL.schemes, local_path(location).parent)
    raise FetchError(
        f"{shown(location)}: cannot read the releases index (only a path, file://, http:// "
        "or https:// is read)"
    )


def local_path(location: str) -> Path:
    """A file:// URL or a plain path as a path."""
    if location.lower().startswith("file:"):
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(location).path))
    return Path(location)


def read_index(location: str) -> bytes:
    """The index's bytes, at most MAX_INDEX_BYTES, with the download's timeouts."""
    origin = index_origin(location)
    if origin.local:
        return read_file(local_path(location), config.MAX_INDEX_BYTES, FetchError)
    with tempfile.SpooledTemporaryFile(max_size=config.MAX_INDEX_BYTES) as buffer:
        download(location, origin, buffer, config.MAX_INDEX_BYTES, "the releases index")
        buffer.seek(0)
        return buffer.read()


@dataclass(frozen=True)
class Entry:
    """One release of an index, checked."""

    version: str
    url: str
    sha256: str
    size: int | None  # bytes the index declares, if it does


def check_version(version: object, where: str = "") -> str:
    text = str(version) if isinstance(version, str) else None
    if text is None or not SEMVER.fullmatch(text):
        prefix = f"{where}: " if where else ""
        raise FetchError(f"{prefix}version {shown(repr(version))} is not a semver version")
    return text


def check_index(content: Any, where: str) -> list[Entry]:
    """The releases of an index, each checked; FetchError naming the index and the entry."""
    releases = content.get("releases") if isinstance(content, dict) else None
    if not isinstance(releases, list) or not all(
        isinstance(r, dict) and {"version", "url", "sha256"} <= r.keys() for r in releases
    ):
        raise FetchError(
            f"{where}: not a releases index (a 'releases' list of entries with version, url "
            "and sha256)"
        )
    entries = []
    for number, release in enumerate(releases, 1):
        place = f"{where}: release {number}"
        version = check_version(release["version"], place)
        url, sha256, size = release["url"], release["sha256"], release.get("bytes")
        if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS or shown(url) != url:
            raise FetchError(f"{place}: url {shown(repr(url))[:200]} is not a usable URL")
        if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256.lower()):
            raise FetchError(f"{place}: sha256 {shown(repr(sha256))[:80]} is not a SHA-256")
        if size is not None and (type(size) is not int or size < 0):
            raise FetchError(f"{place}: bytes {shown(repr(size))[:80]} is not a size")
        entries.append(Entry(version, url, sha256.lower(), size))
    return entries


def release_file_name(entry: Entry) -> str:
    """The cache's name for a release: the URL's file name when it is a plain one."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(entry.url).path.rsplit("/", 1)[-1])
    if not name:
        return f"newspack-{entry.version}.zip"
    if not FILE_NAME.fullmatch(name) or ".." in name:
        raise FetchError(
            f"{shown(entry.url)}: the file name {shown(repr(name))} is not a plain file name"
        )
    return name


# --- downloads -------------------------------------------------------------------------------


def _allowed(url: str, origin: Origin, what: str) -> str:
    """The scheme of a URL an index (or a redirect) names, if its origin allows it."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("https", "http") and scheme in origin.schemes:
        return scheme
    if scheme in ("", "file") and origin.local:
        return "file"
    rule = "only https:// is fetched" + (
        "" if origin.local else " for a remote index, never a local file"
    )
    if "http" in origin.schemes and not origin.local:
        rule = "an http:// index may name http:// or https:// releases only, never a local file"
    raise FetchError(f"{shown(url)}: {what} refused ({rule}; index {shown(origin.location)})")


def source_of(entry: Entry, origin: Origin) -> str | Path:
    """What to read a release from: a URL, or a local path (a local index only)."""
    if _allowed(entry.url, origin, "release URL") != "file":
        return entry.url
    path = local_path(entry.url)
    if not path.is_absolute() and origin.folder is not None:
        path = origin.folder / path
    return path


def download(url: str, origin: Origin, sink: IO[bytes], limit: int, what: str) -> None:
    """Stream `url` into `sink`, at most `limit` bytes, with timeouts and a time limit,
    following redirects only to URLs `origin` allows. FetchError naming the URL otherwise."""
    import requests  # only for downloads: query and diff of local files do not need it
    import urllib3

    deadline = time.monotonic() + config.RELEASE_DOWNLOAD_SECONDS
    timeouts = (config.RELEASE_CONNECT_TIMEOUT, config.RELEASE_READ_TIMEOUT)
    current = url
    try:
        with requests.Session() as session:
            for _ in range(config.RELEASE_MAX_REDIRECTS + 1):
                # A server, and whatever it redirects to, is remote: never a local file.
                if _allowed(current, origin, what) == "file":
                    raise FetchError(
                        f"{shown(current)}: {what} refused (a redirect to a local file)"
                    )
                # identity: a compressed transfer would be inflated beyond what is counted
                with session.get(
                    current,
                    stream=True,
                    timeout=timeouts,
                    allow_redirects=False,
                    headers={"Accept-Encoding": "identity"},
                ) as response:
                    if response.is_redirect:
                        current = urllib.parse.urljoin(current, response.headers["location"])
                        continue
                    response.raise_for_status()
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(f"{shown(current)}: {declared} bytes, over {limit}")
                    _copy(response.raw.stream(2**16, decode_content=False), sink, limit, deadline)
                    return
            raise FetchError(f"{shown(url)}: more than {config.RELEASE_MAX_REDIRECTS} redirects")
    except FetchError as error:
        if str(error).startswith(("more than", "took longer")):
            raise FetchError(f"{shown(current)}: {error}; the download was stopped") from None
        raise
    # urllib3's own errors (a read timeout, a broken transfer) reach us through raw.stream.
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        reason = type(error).__name__
        if isinstance(error, requests.HTTPError):
            reason = f"HTTP {error.response.status_code}"
        raise FetchError(f"{shown(current)}: cannot download {what} ({reason})") from None


def _copy(chunks, sink: IO[bytes], limit: int, deadline: float | None = None) -> int:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise FetchError(f"more than {limit} bytes")
        if deadline is not None and time.monotonic() > deadline:
            raise FetchError(f"took longer than {config.RELEASE_DOWNLOAD_SECONDS:.0f} s")
        sink.write(chunk)
    return total


def fetch_verified(entry: Entry, origin: Origin, target: Path) -> Path:
    """Download (or copy) the release into a temporary file beside `target`; give it
    `target`'s name only once its size and SHA-256 are those the index gives."""
    source = source_of(entry, origin)
    limit = entry.size if entry.size is not None else config.MAX_RELEASE_BYTES
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".newspack-download-")
    try:
        with os.fdopen(handle, "wb") as sink:
            hashing = Hashing(sink)
            if isinstance(source, Path):
                with open_regular(source, FetchError) as stream:
                    try:
                        _copy(iter(lambda: stream.read(2**16), b""), hashing, limit)
                    except FetchError as error:
                        raise FetchError(f"{source}: {error}") from None
            else:
                try:
                    download(source, origin, hashing, limit, "the release")
                except FetchError as error:
                    raise FetchError(f"{error} (release {entry.version})") from None
        where = source if isinstance(source, Path) else shown(source)
        if entry.size is not None and hashing.size != entry.size:
            raise FetchError(
                f"{where}: {hashing.size} bytes, not the {entry.size} the index declares; "
                "refused and not kept"
            )
        if (found := hashing.digest.hexdigest()) != entry.sha256:
            raise FetchError(
                f"release {entry.version} from {where} does not match its checksum "
                f"sha256:{entry.sha256} (it is sha256:{found}); refused and not kept"
            )
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target


class Hashing:
    """A sink that hashes and counts what it writes."""

    def __init__(self, sink: IO[bytes]):
        self.sink, self.digest, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.sink.write(data)


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


# --- local files -----------------------------------------------------------------------------


@contextlib.contextmanager
def open_regular(path: Path, error: type[Refused] = PackageError) -> Iterator[IO[bytes]]:
    """A regular file opened for reading without following a final link and without
    blocking on a pipe; `error` naming the path otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags)
    except OSError as problem:
        reason = "a symbolic link" if os.path.islink(path) else problem.strerror
        raise error(f"{path}: cannot be read ({reason})") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise error(f"{path}: not a regular file")
    with os.fdopen(handle, "rb") as stream:
        yield stream


def read_capped(stream: IO[bytes], limit: int) -> bytes:
    """At most limit + 1 bytes of a stream, read in blocks: read(limit + 1) would allocate
    the whole cap at once, whatever the file holds."""
    blocks, size = [], 0
    while size <= limit and (block := stream.read(min(2**20, limit + 1 - size))):
        blocks.append(block)
        size += len(block)
    return b"".join(blocks)


def read_file(path: Path, limit: int, error: type[Refused] = PackageError) -> bytes:
    """A regular file's bytes, refused when longer than `limit`."""
    with open_regular(path, error) as stream:
        data = read_capped(stream, limit)
    if len(data) > limit:
        raise error(f"{path}: larger than {limit} bytes; not read")
    return data


class Source:
    """A package's files, by their names in the package (`data/articles.csv`)."""

    where: Path

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def open(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A member as a binary stream; read errors inside the block become PackageError."""
        raise NotImplementedError

    def read(self, name: str, limit: int = config.MAX_METADATA_BYTES) -> bytes:
        with self.open(name) as stream:
            data = read_capped(stream, limit)
        if len(data) > limit:
            raise PackageError(f"{self.where}: {name} is larger than {limit} bytes; not read")
        return data

    def json(self, name: str) -> Any:
        return load_json(self.read(name), f"{self.where}: {name}")


def check_member_name(name: str, where: object) -> str:
    """A name a package has, relative, without `..`, backslashes or absolute parts."""
    if not isinstance(name, str) or not MEMBER.fullmatch(name):
        raise PackageError(f"{where}: {shown(repr(name))} is not a file a package has")
    return name


class Folder(Source):
    """A package folder: only the files a package has, only regular files, never through a
    link that leads out of the folder."""

    def __init__(self, folder: Path):
        self.where = Path(folder)
        try:
            self.root = self.where.resolve(strict=True)
        except (OSError, RuntimeError) as problem:
            raise PackageError(f"{folder}: not a readable folder ({problem})") from None
        if not self.root.is_dir():
            raise PackageError(f"{folder}: not a folder")

    def path(self, name: str) -> Path:
        """The real path of a file of the package, inside the folder."""
        if not isinstance(name, str) or not FOLDER_FILE.fullmatch(name):
            raise PackageError(f"{self.where}: {shown(repr(name))} is not a file a package has")
        try:
            real = (self.root / name).resolve(strict=True)
        except FileNotFoundError:
            raise PackageError(f"{self.where / name}: not found") from None
        except (OSError, RuntimeError) as problem:
            raise PackageError(f"{self.where / name}: cannot be read ({problem})") from None
        if not real.is_relative_to(self.root):
            raise PackageError(
                f"{self.where / name}: a link out of the package folder (to {real}); not read"
            )
        return real

    def has(self, name: str) -> bool:
        return bool(FOLDER_FILE.fullmatch(name)) and os.path.lexists(self.root / name)

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        path = self.path(name)
        if path.stat().st_size > config.MAX_MEMBER_BYTES:
            raise PackageError(f"{path}: larger than {config.MAX_MEMBER_BYTES} bytes; not read")
        with open_regular(path) as stream, _reading(f"{self.where / name}"):
            yield stream

    def read(self, name: str, limit: int = config.MAX_METADATA_BYTES) -> bytes:
        return read_file(self.path(name), limit)


@contextlib.contextmanager
def _reading(where: str) -> Iterator[None]:
    """Errors of reading a member (corrupt data, bad text) as one line naming it."""
    try:
        yield
    except Refused:
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError) as problem:
        raise PackageError(f"{where}: cannot be read ({shown(problem)})") from None
    except (NotImplementedError, RuntimeError) as problem:  # zipfile: method, encryption
        raise PackageError(f"{where}: cannot be read ({shown(problem)})") from None


class Archive(Source):
    """A release zip, every member checked before any is read."""

    def __init__(self, path: Path):
        self.where = Path(path)
        self._file = None
        try:
            size = self.where.stat().st_size
            if size > config.MAX_RELEASE_BYTES:
                raise PackageError(f"{path}: larger than {config.MAX_RELEASE_BYTES} bytes")
            with open_regular(self.where) as stream:
                count = _member_count(stream)
            if count > config.MAX_ZIP_MEMBERS:
                raise PackageError(f"{path}: {count} members, more than a package has")
            self._file = zipfile.ZipFile(self.where)
            self.members = self._check(self._file.infolist())
        except Refused:
            self.close()
            raise
        except (OSError, zipfile.BadZipFile, zlib.error, ValueError, EOFError) as problem:
            self.close()
            raise PackageError(f"{path}: not a readable zip ({shown(problem)})") from None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            where = f"{self.where}: member {shown(repr(name))}"
            check_member_name(name, self.where)
            if name in members:
                raise PackageError(f"{where} appears twice")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PackageError(f"{where} is a symbolic link")
            if info.flag_bits & 0x1:
                raise PackageError(f"{where} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise PackageError(f"{where}: compression method {info.compress_type} not read")
            if info.file_size > config.MAX_MEMBER_BYTES:
                raise PackageError(f"{where}: {info.file_size} bytes unpacked, over the cap")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > config.RATIO_FREE_BYTES and ratio > config.MAX_COMPRESSION_RATIO:
                raise PackageError(f"{where}: packed {ratio:.0f} to 1, a zip bomb; not read")
            total += info.file_size
            if total > config.MAX_UNPACKED_BYTES:
                raise PackageError(f"{self.where}: more than {config.MAX_UNPACKED_BYTES} unpacked")
            members[name] = info
        return members

    def has(self, name: str) -> bool:
        return name in self.members

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if name not in self.members:
            raise PackageError(f"{self.where}: no {shown(name)} in this release")
        assert self._file is not None
        with _reading(f"{self.where}: {name}"), self._file.open(self.members[name]) as stream:
            yield stream


def _member_count(stream: IO[bytes]) -> int:
    """Members a zip's end record declares, read before zipfile lists them all (a forged
    central directory of millions of entries would fill memory)."""
    record = zipfile._EndRecData(stream)  # the one reader of the end record there is
    if not record:
        raise PackageError("no end of central directory")
    return int(record[zipfile._ECD_ENTRIES_TOTAL])


def open_package(path: Path) -> Source:
    """A package to read: a release zip or a package folder (or its datapackage.json)."""
    path = Path(path)
    if os.path.isfile(path) and path.name != DESCRIPTOR_NAME:
        with open_regular(path) as stream:
            is_zip = zipfile.is_zipfile(stream)
        if not is_zip:
            raise PackageError(f"{path}: neither a release zip nor a package folder")
        return Archive(path)
    folder = path.parent if path.name == DESCRIPTOR_NAME else path
    if not os.path.isdir(folder) or not os.path.lexists(folder / DESCRIPTOR_NAME):
        raise PackageError(f"{path}: no {DESCRIPTOR_NAME} here, and not a release zip")
    return Folder(folder)


def resources_of(descriptor: Any, where: object) -> list[dict]:
    """The resources of a descriptor, each with a safe name, a path `data/<name>.csv`-like
    inside the package and a schema of named fields and a primary key among them."""
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list):
        raise PackageError(f"{where}: not a data package descriptor (no list of resources)")
    checked, names = [], set()
    for number, resource in enumerate(resources, 1):
        if not isinstance(resource, dict):
            raise PackageError(f"{where}: resource {number} is not an object")
        name = resource.get("name")
        if not isinstance(name, str) or not TABLE_NAME.fullmatch(name) or name in names:
            raise PackageError(
                f"{where}: resource {number}: name {shown(repr(name))[:80]} is "
                "not a safe, unique name"
            )
        names.add(name)
        path = resource.get("path")
        if not isinstance(path, str) or not re.fullmatch(rf"data/{_TABLE}\.csv", path):
            raise PackageError(
                f"{where}: resource {name}: path {shown(repr(path))[:80]} leaves the package's "
                "data/ or is not a CSV"
            )
        schema = resource.get("schema")
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
        ):
            raise PackageError(f"{where}: resource {name} has no schema of named fields")
        key = schema.get("primaryKey")
        key = [key] if isinstance(key, str) else key
        field_names = [f["name"] for f in fields]
        if not isinstance(key, list) or not key or not set(key) <= set(field_names):
            raise PackageError(f"{where}: resource {name} has no primary key among its fields")
        checked.append({**resource, "schema": {**schema, "primaryKey": key}})
    return checked
