"""After the build (the dataset site): reading the published package it is made from.

Everything the site shows comes from the package folder alone: `datapackage.json`, the
CSVs it names in `data/`, `CHANGELOG.md`, `releases.json` and the example queries of
`README.md`. The package is treated as untrusted input: names that become file names are
checked, and paths may not leave the package folder.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DESCRIPTOR = "datapackage.json"
CHANGELOG = "CHANGELOG.md"
RELEASES = "releases.json"
README = "README.md"
QUERY_SECTION = "## Querying with DuckDB"
# Table names become page file names: keep them to what Frictionless allows for names.
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
# Cells of a CSV can be long (article paragraphs): let the reader take any real one.
csv.field_size_limit(2**31 - 1)


class SiteError(RuntimeError):
    """The package cannot be made into a site (missing or malformed file, bad query)."""


@dataclass(frozen=True)
class Table:
    """One resource of the package: its descriptor entry and its rows (strings, as written)."""

    name: str
    resource: dict
    csv_path: Path
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
    descriptor: dict
    tables: dict[str, Table]
    changelog: str | None
    releases: list[dict]
    examples: list[Example] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", "unversioned"))


def read_package(folder: Path) -> Package:
    """Read everything the site needs from the package folder."""
    descriptor = _read_json(folder / DESCRIPTOR, required=True)
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise SiteError(f"{folder / DESCRIPTOR}: not a data package (no list of resources)")
    tables = {}
    for resource in descriptor["resources"]:
        table = _read_table(folder, resource)
        tables[table.name] = table
    releases = _read_json(folder / RELEASES, required=False) or {}
    readme = folder / README
    return Package(
        folder=folder,
        descriptor=descriptor,
        tables=tables,
        changelog=_read_text(folder / CHANGELOG),
        releases=list(releases.get("releases", [])) if isinstance(releases, dict) else [],
        examples=readme_examples(readme.read_text(encoding="utf-8")) if readme.is_file() else [],
    )


def _read_json(path: Path, required: bool):
    if not path.is_file():
        if required:
            raise SiteError(f"{path}: not found; --package must name a package folder")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SiteError(f"{path}: cannot be read as JSON ({error})") from error


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _read_table(folder: Path, resource: dict) -> Table:
    name = resource.get("name") if isinstance(resource, dict) else None
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise SiteError(f"{folder / DESCRIPTOR}: resource name {name!r} is not a safe name")
    path = (folder / str(resource.get("path", ""))).resolve()
    # A descriptor is data too: its paths must stay inside the package's data folder.
    if not path.is_relative_to((folder / "data").resolve()) or not path.is_file():
        raise SiteError(f"{folder / DESCRIPTOR}: resource {name}: no CSV at {resource.get('path')}")
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SiteError(f"{path}: cannot be read as CSV ({error})") from error
    return Table(name, resource, path, header, rows)


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
