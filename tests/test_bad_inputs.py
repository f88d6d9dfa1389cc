"""A folder mixing the real dumps with every kind of bad input: the good data is published,
every bad input is reported by file and line, and --strict turns them into a failure."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from layouts import DUMPS, dump_text, kazakhstan_article, munir_article, render
from newspack import pipeline
from newspack.cli import app

MUNIR, KAZAKH = munir_article(), kazakhstan_article()
MOJIBAKE = dump_text(render(MUNIR, "dump002")).replace("’", "â€™").replace("—", "â€”")
JUNK_AND_BLOCK = "Ø§Ù„Ø¹Ø±Ø¨ÙŠØ©\n" + dump_text(
    render(MUNIR, "dump002"), ["Home", "Pakistan", "World", "Sport"], render(KAZAKH, "plain")
)
BLOCK_START = JUNK_AND_BLOCK.split("\n").index("Home") + 1
LONG_LINE = dump_text(render(KAZAKH, "no_caption")).replace(
    KAZAKH.paragraphs[2], " ".join([KAZAKH.paragraphs[2]] * 30)
)

BAD_INPUTS = {
    "010_e0e0.txt": b"",  # empty
    "011_b1b1.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # binary
    "012_c2c2.txt": b"Title\nx\x81y\n",  # neither UTF-8 nor Windows-1252
    "013_d3d3.txt": "\ufeff".encode() + MOJIBAKE.replace("\n", "\r\n").encode(),  # BOM, CRLF
    "014_f4f4.txt": JUNK_AND_BLOCK.encode(),  # junk first line and a non-article block
    "015_a5a5.txt": LONG_LINE.encode("cp1252", errors="replace"),  # Windows-1252, long line
    "notes.txt": dump_text(render(MUNIR, "bare")).encode(),  # breaks the naming rule
    "README.md": b"# not a dump\n",
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dumps")
    for path in DUMPS.glob("*.txt"):
        shutil.copy(path, folder)
    shutil.copy(DUMPS / "000_179fe664de7d926d.txt", folder / "020_0dup.txt")
    for name, data in BAD_INPUTS.items():
        (folder / name).write_bytes(data)
    out = tmp_path_factory.mktemp("out")
    return folder, out, pipeline.run(folder, out)


def test_good_data_is_published(mixed):
    _, _, report = mixed
    articles = report.tables["articles"]
    assert len(articles) == 7  # the real stories; the others are versions of them
    dumps = report.tables["dumps"].set_index("file")
    assert dumps.loc["013_d3d3.txt", ["encoding", "newline"]].tolist() == ["utf-8-sig", "crlf"]
    assert dumps.loc["015_a5a5.txt", "encoding"] == "windows-1252"


def test_every_bad_input_is_reported_by_file_and_line(mixed):
    _, _, report = mixed
    problems = "\n".join(report.problems())
    assert "010_e0e0.txt: line 1: empty file" in problems
    assert "011_b1b1.txt: line 3: NUL byte" in problems
    assert "012_c2c2.txt: line 2: byte 0x81" in problems
    assert "014_f4f4.txt: lines 1-1: junk before the first article header" in problems
    block = f"lines {BLOCK_START}-{BLOCK_START + 3}: a block of short lines without sentences"
    assert f"014_f4f4.txt: {block}" in problems
    warnings = "\n".join(report.warnings)
    assert "notes.txt: name does not follow NNN_<hash>.txt" in warnings
    assert "README.md: not a .txt dump, left out" in warnings
    assert report.duplicates() == [
        "020_0dup.txt: same bytes as 000_179fe664de7d926d, not read again"
    ]


def test_quarantined_text_is_kept_whole(mixed):
    _, _, report = mixed
    quarantine = report.tables["quarantine"].set_index(["dump_id", "line_start"])
    assert (
        quarantine.loc[("014_f4f4", BLOCK_START), "quarantined_text"]
        == "Home\nPakistan\nWorld\nSport"
    )
    assert quarantine.loc[("011_b1b1", 3), "reason"] == "refused_file"


def test_repairs_are_recorded_in_the_ledger(mixed):
    _, _, report = mixed
    ledger = report.tables["line_ledger"]
    repaired = ledger[(ledger["dump_id"] == "013_d3d3") & (ledger["encoding_status"] == "repaired")]
    assert len(repaired) > 5
    assert repaired["raw_text"].str.contains("â€").all()


def test_strict_fails_and_default_succeeds(mixed, tmp_path):
    folder, _, _ = mixed
    runner = CliRunner()
    default = runner.invoke(app, ["build", "--dumps", str(folder), "--out", str(tmp_path)])
    assert default.exit_code == 0, default.output
    strict = runner.invoke(
        app, ["build", "--dumps", str(folder), "--out", str(tmp_path), "--strict"]
    )
    assert strict.exit_code == 2
    assert "012_c2c2.txt: line 2" in strict.output and "--strict" in strict.output
