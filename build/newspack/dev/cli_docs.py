"""Development, the command-line reference: docs/command-line.md's reference part, written from
the `newspack` command's own help (typer's commands, arguments and options), so it cannot
drift from the code.

Run through `nox -s docs` (`python -m newspack.dev.cli_docs [FILE]`): it rewrites the text
between the two marker lines of the file (invisible once rendered) and leaves the rest, the
guide written by hand, as it is. A test checks the committed file equals what this writes,
and that every `newspack COMMAND --option` the README and the guides mention exists
(`commands()`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer.main

from newspack.cli import app

BEGIN = "[//]: # (BEGIN reference: written by nox -s docs from the command's help; do not edit)"
END = "[//]: # (END reference)"
DOC = Path(__file__).resolve().parents[3] / "docs" / "command-line.md"


def _contexts():
    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="newspack")
    for name, command in group.commands.items():
        yield name, command, command.context_class(command, info_name=name, parent=root)


def commands() -> dict[str, set[str]]:
    """Every command of `newspack` with the option names it takes (long and short forms)."""
    out = {}
    for name, command, _ in _contexts():
        names = set()
        for param in command.params:
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("-"))
        out[name] = names | {"--help"}
    return out


def _cell(text: str) -> str:
    # Markdown table cells: one line, pipes escaped; `<` as an entity, so that "<hash>" is
    # shown, not taken for an HTML tag.
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def reference() -> str:
    """The reference: per command its help, usage, arguments and options, as markdown."""
    lines = [
        BEGIN,
        "",
        "## Reference",
        "",
        "Written from `newspack --help` by `nox -s docs`; a test checks it is current.",
    ]
    for name, command, context in _contexts():
        usage = command.get_usage(context).removeprefix("Usage:").strip()
        lines += ["", f"### newspack {name}", "", (command.help or "").strip(), ""]
        lines += ["```text", usage, "```", ""]
        lines += ["| argument or option | what it does |", "|---|---|"]
        for param in command.get_params(context):
            record = param.get_help_record(context)
            if record is None or param.name == "help":
                continue
            lines.append(f"| `{record[0]}` | {_cell(record[1])} |")
    return "\n".join([*lines, "", END])


def rewrite(text: str) -> str:
    """`text` (the guide) with its reference part written afresh."""
    if BEGIN not in text or END not in text:
        return text.rstrip("\n") + "\n\n" + reference() + "\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + reference() + tail


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DOC
    old = path.read_text(encoding="utf-8") if path.exists() else "# The command line\n"
    new = rewrite(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    print(f"{path}: {'rewritten' if new != old else 'already current'}")


if __name__ == "__main__":
    main()
