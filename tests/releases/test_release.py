"""Releases: semver bump by rule, reproducible zip, changelog from the diff, download by
version from a local HTTP server with checksum verification."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
import zipfile

import duckdb
import pandas as pd
import pytest

from layouts import DUMPS
from newspack import pipeline
from newspack.package import schema
from newspack.releases.diff import diff_packages, load_package
from newspack.releases.fetch import FetchError, fetch
from newspack.releases.release import bumped, release

OLD_DUMP = "000_179fe664de7d926d.txt"


@pytest.mark.parametrize(
    ("bump", "expected"), [("major", "1.0.0"), ("minor", "0.3.0"), ("patch", "0.2.4")]
)
def test_semver_bumps(bump, expected):
    assert bumped("0.2.3", bump) == expected


def test_diff_of_a_package_with_itself_is_empty(built):
    _, out = built
    same = diff_packages(load_package(out), load_package(out))
    assert not any(t.any for t in same.tables.values()) and same.bump == "patch"


def test_schema_change_is_major_and_row_changes_are_counted(built, tmp_path):
    _, out = built
    shutil.copytree(out / "data", tmp_path / "data")
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    bullets = next(r for r in package["resources"] if r["name"] == "bullets")
    bullets["schema"]["fields"].append({"name": "extra", "type": "string"})
    (tmp_path / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    csv = tmp_path / "data" / "bullets.csv"
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame.loc[0, "text"] = "An edited bullet"  # a changed row
    frame.drop(index=1).to_csv(csv, index=False)  # a removed row
    changes = diff_packages(load_package(out), load_package(tmp_path))
    assert changes.bump == "major" and "bullets.extra added" in changes.schema_changes
    assert (changes.tables["bullets"].changed, changes.tables["bullets"].removed) == (1, 1)


@pytest.fixture
def isolated_schemas(tmp_path, monkeypatch):
    """A copy of schemas/ so a release can bump its version without touching the repo."""
    copy = tmp_path / "schemas"
    shutil.copytree(schema.SCHEMAS_DIR, copy)
    monkeypatch.setattr(schema, "SCHEMAS_DIR", copy)
    monkeypatch.setattr("newspack.releases.release.SCHEMAS_DIR", copy)
    caches = (
        schema.field_registry,
        schema._table_spec,
        schema.pandera_schema,
    )
    for cached in caches:
        cached.cache_clear()
    yield copy
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _publish_to(server, out):
    """Upload the released zips to the server and point the index at it."""
    served, base = server
    index_path = out / "releases.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    for entry in index["releases"]:
        name = entry["url"].rsplit("/", 1)[1]
        if (out / "dist" / name).exists():
            shutil.copy(out / "dist" / name, served / name)
        entry["url"] = f"{base}/{name}"
    index_path.write_text(json.dumps(index), encoding="utf-8")
    return index_path


def test_release_fetch_and_query(isolated_schemas, server, tmp_path, monkeypatch):
    dumps, out, cache = tmp_path / "dumps", tmp_path / "out", tmp_path / "cache"
    builds = []  # what each build of the releases did: a version bump must not redo the NLP
    run = pipeline.run
    monkeypatch.setattr(pipeline, "run", lambda *a, **k: builds.append(run(*a, **k).work))
    dumps.mkdir()
    shutil.copy(DUMPS / OLD_DUMP, dumps)
    first = release(dumps, out)
    # The first release keeps the version schemas/package.yaml holds; later ones bump it.
    assert first.version == schema.package_metadata()["version"]
    expected_second = bumped(first.version, "minor")
    with zipfile.ZipFile(first.zip_path) as archive:
        names = set(archive.namelist())
        assert {
            "datapackage.json",
            "data/articles.csv",
            "parquet/articles.parquet",
            "newspack.duckdb",
            "SHA256SUMS",
        } <= names
        for line in archive.read("SHA256SUMS").decode().splitlines():
            digest, name = line.split("  ")
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    index_path = _publish_to(server, out)
    (out / "dist" / first.zip_path.name).unlink()  # the next release must download it

    for path in DUMPS.glob("*.txt"):
        shutil.copy(path, dumps)
    second = release(dumps, out)
    assert (second.version, second.diff.bump) == (expected_second, "minor")
    # The second release built twice (before and after writing the new version into
    # schemas/package.yaml); the second build took every dump from the cache.
    assert [(b["processed"], b["from_cache"]) for b in builds] == [(1, 0), (1, 1), (0, 2)]
    assert [title for _, title in second.diff.new_articles] == [
        "Pakistan’s military chief Asim Munir in spotlight over Trump’s Gaza plan"
    ]
    assert [(v, d) for _, v, d, _ in second.diff.new_versions] == [("2", "002_9dd43f1324fd2e02")]
    changelog = (out / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index(f"## {second.version}") < changelog.index(f"## {first.version}")
    assert "| article_versions | 2 | 0 | 1 |" in changelog  # the old Kazakhstan version
    package_yaml = (isolated_schemas / "package.yaml").read_text(encoding="utf-8")
    assert f"version: {second.version}" in package_yaml

    index_path = _publish_to(server, out)
    fetched = fetch(first.version, index_path, cache)
    assert hashlib.sha256(fetched.read_bytes()).hexdigest() == first.sha256
    extracted = tmp_path / "extracted"
    zipfile.ZipFile(fetched).extractall(extracted)
    with duckdb.connect(str(extracted / "newspack.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (6,)
        assert con.execute(
            f"SELECT count(*) FROM '{extracted}/parquet/article_versions.parquet'"
        ).fetchone() == (6,)


def _index_serving(server, version: str, served_bytes: bytes, indexed_bytes: bytes) -> dict:
    """Put a file on the local server and an index entry whose checksum is of indexed_bytes."""
    served, base = server
    (served / f"newspack-{version}.zip").write_bytes(served_bytes)
    entry = {
        "version": version,
        "url": f"{base}/newspack-{version}.zip",
        "sha256": hashlib.sha256(indexed_bytes).hexdigest(),
    }
    return {"releases": [entry]}


def test_a_corrupted_download_is_refused(server, tmp_path):
    index = _index_serving(server, "9.9.9", b"not the release", b"the release")
    with pytest.raises(FetchError, match="does not match its checksum"):
        fetch("9.9.9", index, tmp_path / "cache")
    assert not (tmp_path / "cache" / "newspack-9.9.9.zip").exists()
    with pytest.raises(FetchError, match=r"no release 1\.0\.0 in the index \(releases: 9\.9\.9\)"):
        fetch("1.0.0", index, tmp_path / "cache")


def test_a_cached_release_is_not_downloaded_again(server, tmp_path):
    index = _index_serving(server, "1.2.3", b"release bytes", b"release bytes")
    first = fetch("1.2.3", index, tmp_path / "cache")
    (server[0] / "newspack-1.2.3.zip").unlink()  # the server no longer has it
    assert fetch("1.2.3", index, tmp_path / "cache") == first


def test_release_urls_follow_one_setting(monkeypatch):
    from newspack.releases.release import BASE_URL_VARIABLE, release_url

    home = schema.package_metadata()["homepage"]
    version = "1.2.0"
    monkeypatch.delenv(BASE_URL_VARIABLE, raising=False)
    assert release_url(version).startswith(home + "/")
    assert release_url(version, "https://mirror.example/np/").startswith(
        "https://mirror.example/np/"
    )
    monkeypatch.setenv(BASE_URL_VARIABLE, "https://fork.example/np")
    assert release_url(version) == (
        f"https://fork.example/np/releases/download/v{version}/newspack-{version}.zip"
    )
