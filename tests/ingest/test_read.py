"""Read stage: decoding, line splitting, and the encoding repairs of format-notes.md."""

from __future__ import annotations

import pytest

from newspack.ingest.read import DumpError, read_bytes, split_lines
from newspack.ingest.textfix import repair_line


def test_line_ends_lf_crlf_cr_and_no_final_newline():
    assert split_lines("a\nb\n") == (["a", "b"], "lf")
    assert split_lines("a\r\nb\r\n") == (["a", "b"], "crlf")
    assert split_lines("a\rb") == (["a", "b"], "cr")
    assert split_lines("a\r\nb\nc") == (["a", "b", "c"], "mixed")
    assert split_lines("") == ([], "none")
    # Characters str.splitlines() would break at are text here.
    assert split_lines("a\u2028b\x0cc\n") == (["a\u2028b\x0cc"], "lf")


def test_bom_is_recognised_and_not_part_of_the_first_line():
    dump = read_bytes("\ufefftitle\nbody\n".encode(), "003_ab.txt")
    assert dump.encoding == "utf-8-sig"
    assert dump.lines[0].text == "title"


def test_file_name_gives_dump_id_and_crawl_order():
    dump = read_bytes(b"x\n", "007_9dd43f1324fd2e02.txt")
    assert (dump.dump_id, dump.crawl_order) == ("007_9dd43f1324fd2e02", 7)
    assert read_bytes(b"x\n", "notes.txt").crawl_order is None


def test_nul_bytes_are_refused_naming_file_and_line():
    with pytest.raises(DumpError, match=r"bad\.txt: line 2: NUL byte"):
        read_bytes(b"title\nbin\x00ary\n", "bad.txt")


def test_windows_1252_dump_is_detected():
    dump = read_bytes("Pakistan\u2019s caf\u00e9\n".encode("cp1252"), "004_cafe.txt")
    assert dump.encoding == "windows-1252"
    assert dump.lines[0].text == "Pakistan’s café"


def test_utf16_with_bom_is_read():
    dump = read_bytes("\ufeffTürkiye\r\nGüler\r\n".encode("utf-16-le"), "004_u16.txt")
    assert (dump.encoding, [x.text for x in dump.lines]) == ("utf-16", ["Türkiye", "Güler"])


def test_undecodable_bytes_are_refused_naming_file_and_line():
    # 0x81 is defined neither in UTF-8 (as a lead byte) nor in Windows-1252.
    with pytest.raises(DumpError, match=r"odd\.txt: line 3: byte 0x81 .* neither UTF-8") as error:
        read_bytes(b"a\nb\nx\x81y\n", "odd.txt")
    assert error.value.line == 3


def test_empty_and_binary_files_are_refused():
    with pytest.raises(DumpError, match=r"empty\.txt: line 1: empty file"):
        read_bytes(b"", "empty.txt")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 4
    with pytest.raises(DumpError, match=r"image\.txt: line 2: \d+ control bytes"):
        read_bytes(png, "image.txt")


@pytest.mark.parametrize(
    ("damaged", "repaired"),
    [
        ("Pakistanâ€™s army", "Pakistan’s army"),  # UTF-8 read as Windows-1252
        ("â€œBoth countries,â€\x9d Khan said", "“Both countries,” Khan said"),
        ("â€œBoth countries,â€ Khan said", "“Both countries,” Khan said"),  # 0x9D lost
        ("transport â€” and trade", "transport — and trade"),
        ("2023â€“2024", "2023–2024"),
        ("waitâ€¦", "wait…"),
        ("Pakistanโ€™s army", "Pakistan’s army"),  # UTF-8 read as Windows-874
        ("Pakistan#39;s army", "Pakistan's army"),  # HTML entity without its &
        ("he said ldquo;yesrdquo; and", "he said “yes” and"),
        ("“Both countries,† Khan said", "“Both countries,” Khan said"),
        ("“Both countries†Khan said", "“Both countries” Khan said"),
    ],
)
def test_mojibake_is_repaired_and_recorded(damaged, repaired):
    assert repair_line(damaged) == (repaired, "repaired")


@pytest.mark.parametrize(
    "clean",
    [
        "Pakistan’s “iron brotherhood” — with Türkiye’s Yaşar Güler…",
        "Pakistan–Türkiye ties",
        "Turkish base camp; the gallery",  # a word ending like an entity name is not one
        "Kazakhstan’s Deputy Prime Minister (MOFA)\u00a0",
    ],
)
def test_clean_text_is_left_alone(clean):
    assert repair_line(clean) == (clean, "clean")


@pytest.mark.parametrize(
    "damaged",
    ["Gen \ufffd Asim Munir", "talks with ÙØ²Ø¨ÙƒØ³ officials", "visit to ¤¥¦§¨ next month"],
)
def test_unrepairable_damage_is_flagged(damaged):
    assert repair_line(damaged)[1] == "damaged"


def test_repaired_line_keeps_its_raw_text():
    dump = read_bytes("Pakistanâ€™s army\n".encode(), "003_ab.txt")
    line = dump.lines[0]
    assert (line.raw, line.text, line.encoding_status) == (
        "Pakistanâ€™s army",
        "Pakistan’s army",
        "repaired",
    )
