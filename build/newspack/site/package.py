"""After the build (the dataset site): reading the published package it is made from.

Everything the site shows comes from the package folder alone: `datapackage.json`, the
CSVs it names in `data/`, `CHANGELOG.md`, `releases.json`, `README.md` (with its example
queries) and the guides of `docs/` (DOC_PAGES; more examples in `docs/using-the-data.md`).
The package is untrusted input, read as the build reads dumps (through
releases/untrusted.py): only those files, only regular files, never through a link that
leads out of the folder, each within a size cap; names that become file names are checked.

A table is never read whole: `read_package` takes each CSV's header (checked against the
descriptor's fields) and its first PREVIEW_ROWS rows as written, and `read_chunks` streams
all its rows, CHUNK_ROWS at a time, into the scratch database (database.py). Every row must
have as many fields as the header; a row that does not, or text that is not CSV or not
UTF-8, is a SiteError naming the file, wherever in the file it is.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from collections.abc import Iterator
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
PREVIEW_ROWS = 10  # rows of each table kept as written, shown on its page
CHUNK_ROWS = 20_000  # rows of a CSV held at once while it is loaded
# Cells of a CSV can be long (article paragraphs): let the reader take any real one.
csv.field_size_limit(2**31 - 1)


class SiteError(RuntimeError):
    """The package cannot be made into a site (missing or malformed file, bad query)."""


@dataclass(frozen=True)
class Table:
    """One resource of the package: its descriptor entry, its header and its first rows
    (strings, as written); the rows stay in the file, read by read_chunks."""

    name: str
    resource: dict
    csv_path: Path  # as the package names it (data/<name>.csv); read through Package.source
    header: list[str]
    first_rows: list[list[str]]  # at most PREVIEW_ROWS

    @property
    def fields(self) -> list[dict]:
        return self.resource.get("schema", {}).get("fields", [])


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
    where = source.where / path
    with _csv_rows(source, path) as rows:
        header = next(rows, [])
        fields = [f.get("name") for f in resource.get("schema", {}).get("fields", [])]
        if header != fields:
            raise SiteError(f"{where}: the header does not match the descriptor's fields")
        first_rows = list(_checked(rows, header, where, PREVIEW_ROWS))
    return Table(name, resource, where, header, first_rows)


def read_chunks(
    source: Folder, table: Table, chunk_rows: int = CHUNK_ROWS
) -> Iterator[list[list[str]]]:
    """The rows of `table` below its header, as lists of at most `chunk_rows` rows."""
    path = table.resource["path"]
    with _csv_rows(source, path) as rows:
        next(rows, None)  # the header, checked by read_package
        checked = _checked(rows, table.header, table.csv_path)
        while chunk := list(itertools.islice(checked, chunk_rows)):
            yield chunk


@contextlib.contextmanager
def _csv_rows(source: Folder, path: str) -> Iterator[Iterator[list[str]]]:
    """The CSV's rows, read as they are iterated; any error reading them a SiteError."""
    try:
        with source.open(path) as stream:
            yield csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline=""))
    except csv.Error as error:
        raise SiteError(f"{source.where / path}: cannot be read as CSV ({error})") from None
    except PackageError as error:  # read_package's callers see SiteError only, chunks too
        raise SiteError(str(error)) from None


def _checked(
    rows: Iterator[list[str]], header: list[str], where: Path, limit: int | None = None
) -> Iterator[list[str]]:
    for row in itertools.islice(rows, limit):
        if len(row) != len(header):
            raise SiteError(f"{where}: a row whose fields do not match the header")
        yield row


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
