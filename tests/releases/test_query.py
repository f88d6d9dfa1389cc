"""`newspack query`: SQL on the local package or on a released version, read-only."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from typer.testing import CliRunner

from newspack.cli import app

runner = CliRunner()


def _query(*args: str):
    return runner.invoke(app, ["query", *args], env={"COLUMNS": "1000"})


def test_query_the_local_package_as_json_and_csv(built):
    report, out = built
    titles = sorted(report.tables["articles"]["title"])
    result = _query(
        "--package", str(out), "--format", "json", "SELECT title FROM articles ORDER BY title"
    )
    assert result.exit_code == 0, result.output
    assert [row["title"] for row in json.loads(result.output)] == titles
    result = _query("--package", str(out), "--format", "csv", "SELECT count(*) AS n FROM mentions")
    assert result.output.split("\n")[:2] == ["n", str(len(report.tables["mentions"]))]


def test_queries_cannot_change_the_package(built):
    _, out = built
    result = _query("--package", str(out), "DELETE FROM articles")
    assert result.exit_code == 1 and "read-only" in result.output.lower()


def test_query_a_released_version(built, tmp_path):
    report, out = built
    release = tmp_path / "newspack-9.9.9.zip"
    database = (out / "dist" / "newspack.duckdb").read_bytes()
    with zipfile.ZipFile(release, "w") as archive:
        archive.writestr("newspack.duckdb", database)
        archive.writestr("SHA256SUMS", f"{hashlib.sha256(database).hexdigest()}  newspack.duckdb\n")
    sha = hashlib.sha256(release.read_bytes()).hexdigest()
    index = tmp_path / "releases.json"
    entry = {"version": "9.9.9", "url": release.as_uri(), "sha256": sha}
    index.write_text(json.dumps({"releases": [entry]}))
    args = ["--version", "9.9.9", "--index", str(index), "--cache", str(tmp_path / "c")]
    result = _query(*args, "--format", "csv", "SELECT count(*) AS n FROM articles")
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[1] == str(len(report.tables["articles"]))
    missing = _query("--version", "1.2.3", "--index", str(index), "SELECT 1")
    assert missing.exit_code == 1 and "no release 1.2.3" in missing.output


def test_a_file_in_place_of_a_releases_duckdb_is_never_used_nor_replaced(built, tmp_path):
    from newspack.releases.query import QueryError, duckdb_of_release

    _, out = built
    database = (out / "dist" / "newspack.duckdb").read_bytes()
    release = tmp_path / "newspack-9.9.9.zip"
    with zipfile.ZipFile(release, "w") as archive:
        archive.writestr("newspack.duckdb", database)
        archive.writestr("SHA256SUMS", f"{hashlib.sha256(database).hexdigest()}  newspack.duckdb\n")
    unpacked = duckdb_of_release(release)
    assert unpacked.read_bytes() == database and duckdb_of_release(release) == unpacked
    unpacked.write_bytes(b"a user's file")
    with pytest.raises(QueryError, match=r"not the DuckDB file of newspack-9\.9\.9\.zip"):
        duckdb_of_release(release)
    assert unpacked.read_bytes() == b"a user's file"
