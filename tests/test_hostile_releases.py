"""Releases are untrusted input too (issue #23): a releases index, a release zip or a package
folder that someone else controls, and ordinary SQL. Each numbered class of the issue is
reproduced here and must hold: nothing is read or written outside the folders newspack was
given, nothing is read without a limit, every failure is one line naming the file or URL,
and text from a release never reaches the terminal raw.

Hostile indexes, zips and DuckDB files are made here; servers are bound to 127.0.0.1 with
short timeouts."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from typer.testing import CliRunner

from newspack import config
from newspack.cli import app
from newspack.package import publish
from newspack.releases import release as release_module
from newspack.releases.diff import diff_packages, load_package
from newspack.releases.fetch import fetch
from newspack.releases.query import as_csv, as_json
from newspack.releases.untrusted import FetchError
from newspack.site import SiteError, build_site
from packages import copy_package

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
SECRET = "s3cr3t-key-material"


def _cli(*args: str, env: dict[str, str] | None = None):
    result = runner.invoke(app, list(args), env={"COLUMNS": "1000", **(env or {})})
    # An expected failure is a message and an exit status, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def _refused(result, *words: str) -> None:
    """Exit status 1 and one line of message holding `words`."""
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output, result.output


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture(autouse=True)
def _quick_limits(monkeypatch, tmp_path):
    """Short timeouts for the local servers, and no download into the user's own cache."""
    monkeypatch.setattr(config, "RELEASE_CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(config, "RELEASE_READ_TIMEOUT", 0.5)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def secret(tmp_path) -> Path:
    """A private file outside every folder newspack is given (a stand-in for ~/.ssh/id_rsa)."""
    home = tmp_path / "home" / ".ssh"
    home.mkdir(parents=True)
    (home / "id_rsa").write_text(SECRET)
    return home / "id_rsa"


# --- packages, zips, indexes and servers made here ----------------------------------------

TABLES = {
    "articles": (["article_id", "title"], ["article_id"]),
    "article_versions": (["article_id", "version", "dump_id", "title"], ["article_id", "version"]),
}


def _descriptor(version: str = "1.0.0") -> dict:
    return {
        "name": "newspack",
        "version": version,
        "resources": [
            {
                "name": name,
                "path": f"data/{name}.csv",
                "schema": {
                    "fields": [{"name": f, "type": "string"} for f in fields],
                    "primaryKey": key,
                },
            }
            for name, (fields, key) in TABLES.items()
        ],
    }


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _members(titles: dict[str, str], version: str = "1.0.0") -> dict[str, bytes]:
    """A small package's files: articles with these titles, one version each."""
    articles = [["article_id", "title"], *[[a, t] for a, t in titles.items()]]
    versions = [TABLES["article_versions"][0], *[[a, "1", "001_ab", t] for a, t in titles.items()]]
    return {
        "datapackage.json": json.dumps(_descriptor(version)).encode(),
        "data/articles.csv": _csv(articles),
        "data/article_versions.csv": _csv(versions),
    }


def _folder(path: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def _sums(members: dict[str, bytes]) -> bytes:
    return "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(members.items())
    ).encode()


def _index(path: Path, *entries: dict) -> Path:
    path.write_text(json.dumps({"releases": list(entries)}))
    return path


def _entry(version: str, url: str, data: bytes, **extra) -> dict:
    return {"version": version, "url": url, "sha256": hashlib.sha256(data).hexdigest(), **extra}


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict] = {}

    def do_GET(self):
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404)
        elif callable(route):
            route(self)
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(route)))
            self.end_headers()
            self.wfile.write(route)

    def log_message(self, *args):
        pass


@contextmanager
def _serving(routes: dict) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering `routes` (bytes, or a function of the handler)."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def _duckdb(path: Path, statements: list[str]) -> Path:
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return path


def _release_with_duckdb(tmp_path: Path, database: Path) -> Path:
    """A local index of one release whose zip holds `database`; returns the index."""
    data = database.read_bytes()
    members = {"newspack.duckdb": data}
    release = _zip(tmp_path / "newspack-9.9.9.zip", {**members, "SHA256SUMS": _sums(members)})
    return _index(
        tmp_path / "releases.json", _entry("9.9.9", release.as_uri(), release.read_bytes())
    )


# --- 1. paths from an index stay in the cache -----------------------------------------------


@pytest.mark.parametrize(
    ("version", "url_name", "reason"),
    [
        ("../../x", "newspack.zip", "not a semver version"),
        ("1.0.0", "..%2F..%2Fescaped.zip", "not a plain file name"),
        ("1.0.0", "..", "not a plain file name"),
        ("1.0.0/../..", "newspack.zip", "not a semver version"),
    ],
)
def test_1_versions_and_names_from_an_index_never_leave_the_cache(
    tmp_path, version, url_name, reason
):
    source = tmp_path / "src" / "newspack.zip"
    source.parent.mkdir()
    source.write_bytes(b"release")
    url = (tmp_path / "src").as_uri() + "/" + url_name
    index = _index(tmp_path / "releases.json", _entry(version, url, b"release"))
    before = _files(tmp_path)
    result = _cli("fetch", "1.0.0", "--index", str(index), "--cache", str(tmp_path / "c" / "d"))
    _refused(result, reason)
    assert _files(tmp_path) == before  # not even the cache folder was made


def test_1_a_version_typed_by_the_user_is_checked_too(tmp_path):
    index = _index(tmp_path / "releases.json")
    _refused(_cli("fetch", "../../etc", "--index", str(index)), "not a semver version")


def test_1_a_folder_is_never_reported_as_the_release(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    index = _index(tmp_path / "releases.json", _entry("1.0.0", str(folder), b""))
    _refused(_cli("fetch", "1.0.0", "--index", str(index), "--cache", str(tmp_path / "c")))
    assert not any((tmp_path / "c").iterdir())


# --- 2. a remote index never reads local files ----------------------------------------------


@pytest.mark.parametrize("kind", ["file-url", "plain-path", "ftp"])
def test_2_a_remote_index_naming_a_local_file_is_refused(tmp_path, secret, kind):
    data = secret.read_bytes()
    url = {
        "file-url": secret.as_uri(),
        "plain-path": str(secret),
        "ftp": "ftp://127.0.0.1:1/x.zip",
    }[kind]
    index = json.dumps({"releases": [_entry("1.0.0", url, data)]}).encode()
    cache = tmp_path / "cache"
    with _serving({"/releases.json": index}) as base:
        result = _cli("fetch", "1.0.0", "--index", f"{base}/releases.json", "--cache", str(cache))
    _refused(result, "refused")
    assert not cache.exists() or not any(cache.iterdir())
    assert SECRET not in result.output


def test_2_a_redirect_to_a_local_file_is_refused(tmp_path, secret):
    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", secret.as_uri())
        handler.end_headers()

    with _serving({"/r.zip": redirect}) as base:
        index = {"releases": [_entry("1.0.0", f"{base}/r.zip", secret.read_bytes())]}
        with pytest.raises(FetchError, match="refused"):
            fetch("1.0.0", index, tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_2_an_http_index_may_name_releases_on_its_server(tmp_path):
    with _serving({"/newspack-1.0.0.zip": b"release"}) as base:
        index = json.dumps(
            {"releases": [_entry("1.0.0", f"{base}/newspack-1.0.0.zip", b"release")]}
        )
        with _serving({"/releases.json": index.encode()}) as index_base:
            path = fetch("1.0.0", f"{index_base}/releases.json", tmp_path / "cache")
    assert path.read_bytes() == b"release" and path.parent == tmp_path / "cache"


# --- 3. a downloaded DuckDB file cannot read local files ------------------------------------


def test_3_views_in_a_released_duckdb_file_cannot_read_files(tmp_path, secret):
    database = _duckdb(
        tmp_path / "hostile.duckdb",
        [
            "CREATE TABLE articles AS SELECT 'a title' AS title",
            f"CREATE VIEW leak AS SELECT content FROM read_text('{secret}')",
            "CREATE VIEW passwd AS SELECT * FROM read_csv('/etc/passwd', sep = ':')",
        ],
    )
    index = _release_with_duckdb(tmp_path, database)
    args = ["query", "--version", "9.9.9", "--index", str(index), "--cache", str(tmp_path / "c")]
    assert _cli(*args, "SELECT title FROM articles").exit_code == 0
    for view in ("leak", "passwd"):
        result = _cli(*args, f"SELECT * FROM {view}")
        _refused(result, "disabled by configuration")
        assert SECRET not in result.output and "root:" not in result.output


# --- 4. query is read-only for the file system ----------------------------------------------


@pytest.fixture
def package_with_duckdb(tmp_path) -> Path:
    folder = tmp_path / "pkg"
    (folder / "dist").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "data" / "articles.csv").write_text("title\na title\n")
    _duckdb(folder / "dist" / "newspack.duckdb", ["CREATE TABLE articles AS SELECT 'x' AS title"])
    return folder


@pytest.mark.parametrize(
    "sql",
    [
        "COPY articles TO '{pkg}/data/articles.csv'",
        "COPY articles TO '{pkg}/dist/newspack.duckdb'",
        "EXPORT DATABASE '{pkg}/exported'",
        "PRAGMA enable_profiling = 'json'",
        "SET profiling_output = '{pkg}/profile.json'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "ATTACH '{pkg}/other.duckdb' AS other",
        "SELECT * FROM read_csv('{pkg}/data/articles.csv')",
        "SET enable_external_access = true",
        "CREATE TABLE x AS SELECT 1",
        "DELETE FROM articles",
    ],
)
def test_4_queries_cannot_write_nor_read_files(package_with_duckdb, tmp_path, sql):
    folder = package_with_duckdb
    home = tmp_path / "fake-home"
    home.mkdir()
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    result = _cli(
        "query", "--package", str(folder), sql.format(pkg=folder), env={"HOME": str(home)}
    )
    _refused(result)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert not any(home.iterdir())


# --- 5. limits ------------------------------------------------------------------------------


def test_5_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    members = _members({"art_1": "title"})
    members["data/articles.csv"] += b"," * (64 * 2**20)  # 64 MiB that deflate to 64 KiB
    bomb = _zip(tmp_path / "bomb.zip", members)
    _refused(_cli("diff", str(bomb), str(bomb)), "zip bomb")
    database = {"newspack.duckdb": b"\0" * (64 * 2**20)}
    release = _zip(tmp_path / "newspack-9.9.9.zip", {**database, "SHA256SUMS": _sums(database)})
    index = _index(
        tmp_path / "releases.json", _entry("9.9.9", release.as_uri(), release.read_bytes())
    )
    cache = tmp_path / "c"
    result = _cli(
        "query", "--version", "9.9.9", "--index", str(index), "--cache", str(cache), "SELECT 1"
    )
    _refused(result, "zip bomb")
    assert _files(cache) == {"newspack-9.9.9.zip"}  # nothing unpacked


def test_5_diff_streams_tables_instead_of_holding_them(tmp_path):
    old = _folder(tmp_path / "old", _members({"art_1": "one"}))
    members = _members({f"art_{i}": "a title" for i in range(24)})
    versions = [TABLES["article_versions"][0]]
    versions += [[f"art_{i}", "1", "001_ab", os.urandom(2**19).hex()] for i in range(24)]
    members["data/article_versions.csv"] = _csv(versions)  # 24 MiB of long titles
    new = _zip(tmp_path / "new.zip", members, zipfile.ZIP_STORED)
    tracemalloc.start()
    try:
        changes = diff_packages(load_package(old), load_package(new))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert changes.tables["article_versions"].added == 23
    assert changes.tables["article_versions"].changed == 1
    assert peak < 16 * 2**20  # a row or two at a time, not the table's 24 MiB (and its copies)


def test_5_an_index_larger_than_the_cap_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_INDEX_BYTES", 1000)
    huge = _index(tmp_path / "releases.json", *[_entry("1.0.0", "https://x/y.zip", b"")] * 50)
    _refused(_cli("fetch", "1.0.0", "--index", str(huge)), "larger than 1000 bytes")
    with _serving({"/releases.json": huge.read_bytes()}) as base:
        _refused(_cli("fetch", "1.0.0", "--index", f"{base}/releases.json"), "over 1000")


def test_5_a_server_that_never_answers_times_out(tmp_path):
    with _silent_server() as address:
        result = _cli("fetch", "1.0.0", "--index", f"http://{address}/releases.json")
        _refused(result, address, "Timeout")
        index = {"releases": [_entry("1.0.0", f"http://{address}/newspack.zip", b"x")]}
        with pytest.raises(FetchError, match="Timeout"):
            fetch("1.0.0", index, tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


def test_5_a_download_stops_at_the_size_the_index_declares(tmp_path):
    def endless(handler):  # no Content-Length, and more bytes than declared (bounded here)
        handler.send_response(200)
        handler.end_headers()
        for _ in range(64):
            handler.wfile.write(b"x" * 4096)

    with _serving({"/newspack-1.0.0.zip": endless, "/exact.zip": b"y" * 5000}) as base:
        index = {"releases": [_entry("1.0.0", f"{base}/newspack-1.0.0.zip", b"x", bytes=100)]}
        with pytest.raises(FetchError, match="more than 100 bytes"):
            fetch("1.0.0", index, tmp_path / "cache")
        index = {"releases": [_entry("2.0.0", f"{base}/exact.zip", b"y" * 5000, bytes=4000)]}
        with pytest.raises(FetchError, match="5000 bytes, over 4000"):
            fetch("2.0.0", index, tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())


# --- 6. messages, not tracebacks ------------------------------------------------------------


def _corrupt_deflate(path: Path) -> Path:
    members = _members({"art_1": "x" * 5000})
    _zip(path, members)
    data = bytearray(path.read_bytes())
    start = data.index(b"data/articles.csv") + len("data/articles.csv") + 20
    data[start : start + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("encrypted", "encrypted"),
        ("bzip2", "compression method 12"),
        ("corrupt", "cannot be read"),
        ("no-name", "name None is not a safe"),
        ("nested", "nested too deeply"),
        ("not-utf8-csv", "cannot be read"),
        ("not-utf8-descriptor", "not valid UTF-8 JSON"),
        ("symlink", "symbolic link"),
        ("dot-dot", "is not a file a package has"),
        ("absolute", "is not a file a package has"),
        ("extra", "is not a file a package has"),
        ("ragged", "fields, the header"),
    ],
)
def test_6_broken_and_hostile_zips_are_one_line_messages(tmp_path, case, reason):
    members = _members({"art_1": "one"})
    path = tmp_path / "release.zip"
    if case == "encrypted":
        _zip(path, members)
        data = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flags
            at = data.index(signature)
            data[at + offset] |= 0x1
        path.write_bytes(bytes(data))
    elif case == "bzip2":
        _zip(path, members, zipfile.ZIP_BZIP2)
    elif case == "corrupt":
        _corrupt_deflate(path)
    else:
        descriptor = json.loads(members["datapackage.json"])
        if case == "no-name":
            del descriptor["resources"][0]["name"]
        members["datapackage.json"] = json.dumps(descriptor).encode()
        if case == "nested":
            members["datapackage.json"] = b"[" * 100_000 + b"]" * 100_000
        if case == "not-utf8-csv":
            members["data/articles.csv"] = b"article_id,title\nart_1,\xff\xfe\n"
        if case == "not-utf8-descriptor":
            members["datapackage.json"] = b'{"name": "\xff"}'
        if case == "ragged":
            members["data/articles.csv"] = b"article_id,title\nart_1,one,two,three\n"
        name = {"dot-dot": "data/../../x.csv", "absolute": "/etc/x.csv", "extra": "notes.txt"}
        if case in name:
            members[name[case]] = b"x"
        _zip(path, members)
        if case == "symlink":
            with zipfile.ZipFile(path, "a") as archive:
                info = zipfile.ZipInfo("data/x.csv")
                info.external_attr = 0o120777 << 16
                archive.writestr(info, "/etc/passwd")
    result = _cli("diff", str(path), str(path))
    _refused(result, reason)


def test_6_ctrl_c_during_a_query_is_a_message(package_with_duckdb):
    output = _interrupted(["query", "--package", str(package_with_duckdb), NEVER_ENDS])
    assert "interrupted (Ctrl-C)" in output


def test_6_rich_markup_in_a_value_is_shown_as_it_is(package_with_duckdb):
    database = package_with_duckdb / "dist" / "newspack.duckdb"
    database.unlink()
    values = "[/bold] [link=https://evil.example]click[/link]"
    _duckdb(database, [f"CREATE TABLE articles AS SELECT '{values}' AS \"[bold]title\""])
    result = _cli("query", "--package", str(package_with_duckdb), "SELECT * FROM articles")
    assert result.exit_code == 0
    assert values in result.output and "[bold]title" in result.output


# `newspack ARGS` in a child that says "running" when it starts the statement holding
# NEVER_ENDS, so that the test interrupts that statement and not another step.
CHILD = """
import sys
from newspack import cli
from newspack.releases import sandbox
original, marker = sandbox.run_counted, sys.argv[1]
def announced(con, sql, *args, **kwargs):
    if marker in sql:
        print("running", file=sys.stderr, flush=True)
    return original(con, sql, *args, **kwargs)
sandbox.run_counted = announced  # what sandbox.run calls too
sys.argv = ["newspack", *sys.argv[2:]]
cli.app()
"""
NEVER_ENDS = "SELECT sum(a.range * b.range) FROM range(1000000000) a, range(1000000) b"


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child before it execs: SIGINT at its default and not blocked, as a shell
    starts a command. An ignored or blocked SIGINT is inherited through exec, and Python
    leaves an ignored one ignored; a test runner's worker process may have either (the Ctrl-C
    tests hung in the full suite, never alone)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupted(args: list[str]) -> str:
    """Run `newspack ARGS` in a child, send it SIGINT once its SQL runs; its stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "build"), "COLUMNS": "1000"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, NEVER_ENDS, *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    try:
        assert child.stderr is not None
        line = child.stderr.readline()  # or "" once the child ends
        assert line.strip() == "running", line + child.stderr.read()
        threading.Event().wait(0.5)
        child.send_signal(signal.SIGINT)
        _, errors = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, errors
    assert "Traceback" not in errors
    assert len(errors.strip().splitlines()) == 1, errors
    return errors


# --- 7. the site publishes nothing from outside the package ---------------------------------


@pytest.fixture
def repo_package(tmp_path) -> Path:
    """A copy of the committed package (no build needed)."""
    return copy_package(tmp_path)


def _published(site: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*") if p.is_file()
    )


def test_7_a_changelog_linked_to_a_private_file_is_refused(repo_package, tmp_path, secret):
    (repo_package / "CHANGELOG.md").unlink()
    (repo_package / "CHANGELOG.md").symlink_to(secret)
    result = _cli("site", "--package", str(repo_package), "--out", str(tmp_path / "site"))
    _refused(result, "CHANGELOG.md", "a link out of the package folder")
    assert not (tmp_path / "site").exists()


def test_7_a_data_folder_linked_outside_is_refused(repo_package, tmp_path):
    outside = tmp_path / "outside"
    shutil.move(repo_package / "data", outside)
    (repo_package / "data").symlink_to(outside)
    with pytest.raises(SiteError, match="a link out of the package folder"):
        build_site(repo_package, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_7_a_pipe_in_the_package_is_refused_not_waited_on(repo_package, tmp_path):
    (repo_package / "releases.json").unlink()
    os.mkfifo(repo_package / "releases.json")
    with pytest.raises(SiteError, match="not a regular file"):
        build_site(repo_package, tmp_path / "site")


def _readme_example(package: Path, sql: str) -> None:
    readme = package / "README.md"
    text = readme.read_text(encoding="utf-8")
    example = f"\nA hostile example:\n\n```sql\n{sql};\n```\n"
    marker = "## Querying with DuckDB\n"  # the example opens the README's query section
    assert marker in text
    readme.write_text(text.replace(marker, marker + example, 1), encoding="utf-8")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT content FROM read_text('{secret}')",
        "COPY (SELECT 1) TO '{out}'",
        "SELECT * FROM read_csv('{package}/data/articles.csv')",
        "ATTACH '{out}' AS x",
    ],
)
def test_7_readme_examples_run_without_file_access(repo_package, tmp_path, secret, sql):
    written = tmp_path / "written.csv"
    _readme_example(repo_package, sql.format(secret=secret, out=written, package=repo_package))
    with pytest.raises(SiteError, match="example query failed: Permission Error") as error:
        build_site(repo_package, tmp_path / "site")
    assert SECRET not in str(error.value)
    assert not written.exists() and not (tmp_path / "site").exists()


def test_7_an_example_that_never_ends_is_stopped(repo_package, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "SITE_QUERY_SECONDS", 0.5)
    _readme_example(repo_package, NEVER_ENDS)
    with pytest.raises(SiteError, match="stopped after"):
        build_site(repo_package, tmp_path / "site")


def test_7_ctrl_c_stops_the_site_once_the_charts_are_drawn(repo_package, tmp_path):
    _readme_example(repo_package, NEVER_ENDS)
    out = tmp_path / "site"
    output = _interrupted(["site", "--package", str(repo_package), "--out", str(out)])
    assert "interrupted (Ctrl-C)" in output
    assert not out.exists() and not list(tmp_path.glob(".newspack-site-*"))


def test_7_the_site_of_a_clean_copy_is_still_built(repo_package, tmp_path):
    written = build_site(repo_package, tmp_path / "site")
    assert (tmp_path / "site" / "examples.html") in written
    assert SECRET not in _published(tmp_path / "site")


# --- 8. releases are atomic and never write into the installation --------------------------


def test_8_a_second_release_waits_for_no_one_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "releases.json").write_text('{"releases": []}')
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\n"
            "from newspack.package.publish import build_lock\n"
            "with build_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n    time.sleep(60)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "build")},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = _cli("release", "--dumps", str(tmp_path / "dumps"), "--out", str(out))
    finally:
        holder.kill()
        holder.wait()
    _refused(result, "another newspack build is writing")
    assert _files(out) == {"releases.json", ".newspack.lock"}


def _staged_release(out: Path) -> tuple[Path, dict[str, str]]:
    """A release staged as release() stages it: new zip, changelog and index."""
    staging = out / f"{release_module.STAGING_PREFIX}test"
    staging.mkdir(parents=True)
    publish.mark(staging, release_module.STAGING_KIND)
    (staging / "newspack-2.0.0.zip").write_bytes(b"new zip")
    (staging / "CHANGELOG.md").write_text("new changelog")
    (staging / "releases.json").write_text('{"releases": ["new"]}')
    (out / "CHANGELOG.md").write_text("old changelog")
    (out / "releases.json").write_text('{"releases": ["old"]}')
    targets = {
        "newspack-2.0.0.zip": "dist/newspack-2.0.0.zip",
        "CHANGELOG.md": "CHANGELOG.md",
        "releases.json": "releases.json",
    }
    return staging, targets


class Crash(BaseException):
    pass


@pytest.mark.parametrize("crash_after", ["journal", "CHANGELOG.md", "dist/newspack-2.0.0.zip"])
def test_8_a_release_crashed_while_putting_files_in_place_is_finished(
    tmp_path, monkeypatch, crash_after
):
    out = tmp_path / "out"
    staging, targets = _staged_release(out)

    def crash(step):
        if step == crash_after:
            raise Crash

    monkeypatch.setattr(release_module, "after_step", crash)
    with pytest.raises(Crash):
        release_module._put_in_place(out, staging, targets)
    monkeypatch.setattr(release_module, "after_step", lambda step: None)
    assert "finished" in release_module.finish_release(out)
    assert (out / "CHANGELOG.md").read_text() == "new changelog"
    assert (out / "releases.json").read_text() == '{"releases": ["new"]}'
    assert (out / "dist" / "newspack-2.0.0.zip").read_bytes() == b"new zip"
    assert not staging.exists() and not (out / release_module.JOURNAL_NAME).exists()


def test_8_a_release_crashed_before_its_journal_leaves_the_old_files(tmp_path):
    out = tmp_path / "out"
    staging, _ = _staged_release(out)  # staged, no journal yet: the crash came before it
    assert release_module.finish_release(out) is None
    assert (out / "CHANGELOG.md").read_text() == "old changelog"
    assert (out / "releases.json").read_text() == '{"releases": ["old"]}'
    assert not staging.exists()


def test_8_a_journal_naming_other_files_is_removed_not_followed(tmp_path, secret):
    out = tmp_path / "out"
    staging, _ = _staged_release(out)
    journal = {"staging": staging.name, "files": {"CHANGELOG.md": [str(secret), "00"]}}
    (out / release_module.JOURNAL_NAME).write_text(json.dumps(journal))
    assert "removed a release journal" in release_module.finish_release(out)
    assert secret.read_text() == SECRET and (out / "CHANGELOG.md").read_text() == "old changelog"


@pytest.mark.parametrize(
    ("index", "reason"),
    [
        ('{"releases": [{"version": "1.0.0", "url": "ht', "not valid UTF-8 JSON"),
        ("unreachable", "cannot download the release (ConnectionError)"),
    ],
)
def test_8_a_broken_index_or_previous_release_is_a_message(tmp_path, index, reason):
    out = tmp_path / "out"
    out.mkdir()
    if index == "unreachable":
        with socket.create_server(("127.0.0.1", 0)) as closed:
            port = closed.getsockname()[1]  # closed again at once: nothing listens there
        entry = {"version": "1.0.0", "url": f"http://127.0.0.1:{port}/x.zip", "sha256": "0" * 64}
        index = json.dumps({"releases": [entry]})
    (out / "releases.json").write_text(index)
    result = _cli("release", "--dumps", str(tmp_path / "dumps"), "--out", str(out))
    _refused(result, reason)
    assert _files(out) == {"releases.json", ".newspack.lock"}  # nothing built nor written


def test_8_an_installed_newspack_never_writes_its_own_schemas(tmp_path, monkeypatch):
    from newspack.package import schema

    installed = tmp_path / "site-packages" / "newspack"
    shutil.copytree(schema.SCHEMAS_DIR, installed / "schemas")
    monkeypatch.setattr(release_module, "PACKAGE_DIR", installed)
    monkeypatch.setattr(release_module, "SCHEMAS_DIR", installed / "schemas")
    monkeypatch.setattr(schema, "SCHEMAS_DIR", installed / "schemas")
    before = (installed / "schemas" / "package.yaml").read_bytes()
    assert not release_module.in_checkout()
    with pytest.raises(release_module.ReleaseError, match="inside the installed newspack"):
        release_module.set_package_version("7.0.0")
    with schema.release_version("7.0.0"):
        assert schema.package_metadata()["version"] == "7.0.0"
    assert schema.package_metadata()["version"] != "7.0.0"
    assert (installed / "schemas" / "package.yaml").read_bytes() == before


# --- 9. text from a release never reaches the terminal raw ----------------------------------

HOSTILE = "\x1b]0;pwned\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x9b31m [link=https://evil.example]x[/link]"


def test_9_query_output_is_escaped_for_the_terminal(package_with_duckdb):
    database = package_with_duckdb / "dist" / "newspack.duckdb"
    database.unlink()
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE articles (title VARCHAR)")
        con.execute("INSERT INTO articles VALUES (?)", [HOSTILE])
    table = _cli("query", "--package", str(package_with_duckdb), "SELECT title FROM articles")
    assert table.exit_code == 0 and "\x1b" not in table.output and "\x9b" not in table.output
    assert "[link=https://evil.example]x[/link]" in table.output
    as_json_output = _cli(
        "query", "--package", str(package_with_duckdb), "--format", "json", "SELECT * FROM articles"
    ).output
    assert "\x1b" not in as_json_output and "\x9b" not in as_json_output
    assert json.loads(as_json_output) == [{"title": HOSTILE}]  # escaped, not altered
    assert "\x1b" not in as_csv(["t"], [(HOSTILE,)], terminal=True)
    assert HOSTILE in as_csv(["t"], [(HOSTILE,)]) and "\x1b" not in as_json(["t"], [(HOSTILE,)])


def test_9_diff_output_is_escaped_for_the_terminal_and_the_changelog(tmp_path):
    old = _folder(tmp_path / "old", _members({"art_1": "one"}))
    new = _folder(tmp_path / "new", _members({"art_1": "one", "art_2": HOSTILE}, "2.0.0\x1b[2J"))
    result = _cli("diff", str(old), str(new))
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x9b" not in result.output
    assert "\\[link=https://evil.example\\]" in result.output  # not a markdown link either
    assert "| articles | 1 | 0 | 0 |" in result.output
