"""The README and the guides of docs/: the command-line reference is the command's own help
(written by `nox -s docs`), and every `newspack COMMAND --option` they mention exists."""

from __future__ import annotations

import re
from pathlib import Path

from newspack.dev import cli_docs

REPO = Path(__file__).resolve().parents[1]
GUIDES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Code: fenced blocks and `spans`; a command's options run to the end of its line or span,
# or to the next command (shell `&&`, `;`, `|`, a comment).
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`\n]+)`")
# A command is `newspack` at the start of a line or span, or after a shell separator (not
# "newspack did not write" quoted from a message).
CALL = re.compile(r"(?:^|&&|\|)\s*newspack\s+([a-z][a-z-]*)\b([^;|#&]*)")
BARE = re.compile(r"^([a-z][a-z-]*)\s+(--[a-z].*)$")  # `fetch --index` in prose
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")


def _code(text: str) -> list[str]:
    """The lines of code of a markdown text: each line of a fenced block, each inline span."""
    pieces = [line for block in FENCE.findall(text) for line in block.splitlines()]
    prose = FENCE.sub("", text)
    return pieces + SPAN.findall(prose)


def mentions(text: str, commands: set[str]) -> list[tuple[str, str]]:
    """(command, option) for every option written after `newspack COMMAND` (or a bare
    COMMAND at the start of a code span) in the code of `text`; (command, "") for a command."""
    found = []
    for code in _code(text):
        calls = [(m.group(1), m.group(2)) for m in CALL.finditer(code)]
        bare = BARE.match(code.strip())
        if not calls and bare and bare.group(1) in commands:
            calls = [(bare.group(1), bare.group(2))]
        for command, rest in calls:
            found.append((command, ""))
            # Values (SQL in quotes, paths) are not options: drop quoted text first.
            rest = re.sub(r"\"[^\"]*\"|'[^']*'", " ", rest)
            found += [(command, option) for option in OPTION.findall(rest)]
    return found


def test_the_command_line_reference_is_the_commands_help():
    doc = REPO / "docs" / "command-line.md"
    text = doc.read_text(encoding="utf-8")
    assert cli_docs.BEGIN in text and cli_docs.END in text
    assert text == cli_docs.rewrite(text), "docs/command-line.md is stale: run nox -s docs"


def test_every_newspack_option_the_docs_mention_exists():
    commands = cli_docs.commands()
    checked, unknown = 0, []
    for guide in GUIDES:
        for command, option in mentions(guide.read_text(encoding="utf-8"), set(commands)):
            checked += 1
            if command not in commands:
                unknown.append(f"{guide.name}: newspack {command}")
            elif option and option not in commands[command]:
                unknown.append(f"{guide.name}: newspack {command} {option}")
    assert unknown == []
    assert checked > 30


def test_the_check_finds_a_wrong_option():
    commands = cli_docs.commands()
    text = "Run `newspack build --jobs 2 --fast` or\n\n```bash\nnewspack sight --out x\n```\n"
    found = mentions(text, set(commands))
    assert ("build", "--fast") in found and ("build", "--jobs") in found
    assert ("sight", "") in found
    assert ("site", "--engine-cache") in mentions("`site --engine-cache DIR`", set(commands))
    assert mentions('`newspack query "SELECT a --b FROM t"`', set(commands)) == [("query", "")]


def test_the_readme_is_a_front_page_linking_every_guide():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for guide in sorted((REPO / "docs").glob("*.md")):
        assert f"](docs/{guide.name}" in readme, guide.name


def test_relative_links_of_the_guides_lead_to_files():
    broken = []
    for guide in GUIDES:
        text = FENCE.sub("", guide.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            path = target.split("#", 1)[0]
            if not path or re.match(r"[a-z]+:", path):
                continue
            if not (guide.parent / path).exists():
                broken.append(f"{guide.name}: {target}")
    assert broken == []
