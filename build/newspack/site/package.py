"""After the build (the dataset site): reading the published package it is made from.

Everything the site shows comes from the package folder alone: `datapackage.json`, the
CSVs it names in `data/`, `CHANGELOG.md`, `releases.json`, `README.md` (with its example
queries) and the guides of `docs/` (DOC_PAGES; more examples in `docs/using-the-data.md`).
The package is untrusted input, read as the build reads dumps (through
releases/untrusted.py): only those files, only regular files, never through a link that
leads out of the folder, each within a size cap; names that become file names are checked.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from newspack.site.upstream import Folder, PackageError, resources_of

DESCRIPTOR = "datapackage.json"
CHANGELOG = "CHANGELOG.md"
RELEASES = "releases.json"
README = "README.md"
QUERY_SECTION = "## Querying with DuckDB"
# The guides in docs/ that the site renders as pages, in the order of its navigation; the
# example queries are read from README.md's query section and then from USING_THE_DATA's.
DOC_PAGES = [
    "using-the-data",
    "command-line",
    "bad-input-and-your-folders",
    "releases",
    "cluster",
    "pipeline",
    "evaluation",
    "data-dictionary",
]
USING_THE_DATA = "docs/using-the-data.md"
# Cells of a CSV can be long (article paragraphs): let the reader take any real one.
csv.field_size_limit(2**31 - 1)


class SiteError(RuntimeError):
    """The package cannot be made into a site (missing or malformed file, bad query)."""


@dataclass(frozen=True)
class Table:
    """One resource of the package: its descriptor entry and its rows (strings, as written)."""

    name: str
    resource: dict
    csv_path: Path  # as the package names it (data/<name>.csv); read through Package.source
    header: list[str]
    rows: list[list[str]]

    @property
    def fields(self) -> list[dict]:
        return self.resource.get("schema", {}).get("fields", [])

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.header, row, strict=False)) for row in self.rows]


@dataclass(frozen=True)
class Example:
    """An example from the README: the sentence that introduces it and its SQL statements."""

    intro: str
    statements: list[str]


@dataclass(frozen=True)
class Package:
    folder: Path
    source: Folder
    descriptor: dict
    tables: dict[str, Table]
    changelog: str | None
    releases: list[dict]
    examples: list[Example] = field(default_factory=list)
    readme: str | None = None
    docs: dict[str, str] = field(default_factory=dict)  # docs/<name>.md -> its text

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", "unversioned"))


def read_package(folder: Path) -> Package:
    """Read everything the site needs from the package folder; SiteError naming the file
    for anything that is not there, not a regular file inside the folder, or malformed."""
    try:
        source = Folder(folder)
        if not source.has(DESCRIPTOR):
            raise SiteError(
                f"{folder / DESCRIPTOR}: not found; --package must name a package folder"
            )
        descriptor = source.json(DESCRIPTOR)
        resources = resources_of(descriptor, folder / DESCRIPTOR)
        tables = {r["name"]: _read_table(source, r) for r in resources}
        releases = source.json(RELEASES) if source.has(RELEASES) else {}
        readme = _read_text(source, README)
        docs = {name: _read_text(source, f"docs/{name}.md") for name in DOC_PAGES}
        docs = {name: text for name, text in docs.items() if text is not None}
        examples = readme_examples(readme) if readme else []
        seen = {sql for example in examples for sql in example.statements}
        for example in readme_examples(docs.get("using-the-data", "")):
            statements = [sql for sql in example.statements if sql not in seen]
            if statements:  # the README's own come first, each once
                examples.append(Example(example.intro, statements))
                seen.update(statements)
        return Package(
            folder=folder,
            source=source,
            descriptor=descriptor,
            tables=tables,
            changelog=_read_text(source, CHANGELOG),
            releases=list(releases.get("releases", [])) if isinstance(releases, dict) else [],
            examples=examples,
            readme=readme,
            docs=docs,
        )
    except PackageError as error:
        raise SiteError(str(error)) from None


def _read_text(source: Folder, name: str) -> str | None:
    if not source.has(name):
        return None
    try:
        return source.read(name).decode("utf-8")
    except UnicodeDecodeError as error:
        raise SiteError(f"{source.where / name}: not UTF-8 text ({error.reason})") from None


def _read_table(source: Folder, resource: dict) -> Table:
    name, path = resource["name"], resource["path"]
    with source.open(path) as stream:
        try:
            reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline=""))
            header = next(reader, [])
            rows = list(reader)
        except csv.Error as error:
            raise SiteError(f"{source.where / path}: cannot be read as CSV ({error})") from None
    if any(len(row) != len(header) for row in rows):
        raise SiteError(f"{source.where / path}: a row whose fields do not match the header")
    return Table(name, resource, source.where / path, header, rows)


def readme_examples(readme: str) -> list[Example]:
    """The ```sql blocks of the README's querying section, each with the paragraph before it."""
    examples, intro, block = [], [], None
    paragraph_ended = True
    for raw in _query_section(readme):
        line = raw.strip()
        if block is not None:
            if line.startswith("```"):
                examples.append(Example(" ".join(intro), split_statements("\n".join(block))))
                block, intro = None, []
            else:
                block.append(raw)  # as written: the indentation of the SQL is kept
        elif line == "```sql":
            block = []
        elif line.startswith("```"):
            intro = []  # another language's block: what came before does not introduce SQL
        elif not line:
            paragraph_ended = True
        else:
            intro = [line] if paragraph_ended else [*intro, line]
            paragraph_ended = False
    return [example for example in examples if example.statements]


def _query_section(readme: str) -> list[str]:
    lines = readme.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == QUERY_SECTION)
    except StopIteration:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1 : end]


def split_statements(sql: str) -> list[str]:
    """Statements of a block, split at a semicolon that ends a line (the README's style;
    a semicolon inside a string literal is left alone unless it ends the line)."""
    parts = re.split(r";[ \t]*(?:\n|$)", sql)
    return [part.strip() for part in parts if part.strip()]
