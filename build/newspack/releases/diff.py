"""After the build (releases), diff: what changed between two published packages.

Each package is read with its own descriptor (an old release may have another schema), rows
matched by their primary key. The diff decides the semver bump of a release and is written
down as the data changelog.
"""

from __future__ import annotations

import csv
import hashlib
import io
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from newspack import config
from newspack.config import DESCRIPTOR_NAME
from newspack.releases.untrusted import (
    PackageError,
    Refused,
    Source,
    open_package,
    resources_of,
    shown,
)

__all__ = ["EMPTY", "Package", "PackageDiff", "PackageError", "diff_packages", "load_package"]

# Descriptor properties that change with every release or build, not with the data.
_VOLATILE = {"version", "created", "resources"}
# Cells of a CSV can be long (article paragraphs): the member's size cap bounds them.
csv.field_size_limit(2**31 - 1)


@dataclass
class Package:
    """A package's descriptor and where its tables are read from, one row at a time."""

    descriptor: dict[str, Any]
    source: Source | None
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> resource

    @property
    def version(self) -> str | None:
        version = self.descriptor.get("version")
        return None if version is None else shown(version)

    def schema(self, table: str) -> dict[str, Any]:
        return self.tables[table]["schema"]

    @contextmanager
    def rows(self, table: str) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
        """(header, rows) of a table, streamed from its CSV; every row as long as the header."""
        if self.source is None or table not in self.tables:
            yield [], iter(())
            return
        name = self.tables[table]["path"]
        where = f"{self.source.where}: {name}"
        with self.source.open(name) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            reader = csv.reader(_lines(text, where))
            header = next(reader, [])
            yield header, _checked(reader, len(header), where)


def _lines(text: io.TextIOWrapper, where: str) -> Iterator[str]:
    """Physical lines, none longer than MAX_CSV_LINE_CHARS (the csv module holds a whole
    record's fields at once)."""
    limit = config.MAX_CSV_LINE_CHARS
    while line := text.readline(limit + 1):
        if len(line) > limit:
            raise PackageError(f"{where}: a line longer than {limit} characters; not read")
        yield line


def _checked(reader, width: int, where: str) -> Iterator[list[str]]:
    for number, row in enumerate(reader, 2):
        if len(row) != width:
            raise PackageError(
                f"{where}: row {number} has {len(row)} fields, the header {width}; not a table"
            )
        yield row


EMPTY = Package({"resources": []}, None)


def load_package(path: Path) -> Package:
    """A package from a folder holding datapackage.json, or from a release zip, read as
    untrusted (untrusted.py); PackageError naming the path for anything else. Tables are
    not read here: the diff streams them."""
    source = open_package(path)
    try:
        descriptor = source.json(DESCRIPTOR_NAME)
        where = f"{source.where}: {DESCRIPTOR_NAME}"
        resources = resources_of(descriptor, where)
        for resource in resources:
            if not source.has(resource["path"]):
                raise PackageError(f"{source.where}: no {resource['path']} in this package")
    except Refused:
        close = getattr(source, "close", None)
        if close:
            close()
        raise
    return Package(descriptor, source, {r["name"]: r for r in resources})


@dataclass
class TableDiff:
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class PackageDiff:
    old_version: str | None
    new_version: str | None
    tables: dict[str, TableDiff] = field(default_factory=dict)
    schema_changes: list[str] = field(default_factory=list)
    metadata_changes: list[str] = field(default_factory=list)
    new_articles: list[tuple[str, str]] = field(default_factory=list)  # (article_id, title)
    new_versions: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing at all changed: schema, metadata and rows."""
        return not (
            self.schema_changes or self.metadata_changes or any(t.any for t in self.tables.values())
        )

    @property
    def bump(self) -> str:
        """major for a schema change, minor for new or changed rows, patch otherwise."""
        if self.schema_changes:
            return "major"
        if any(t.any for t in self.tables.values()):
            return "minor"
        return "patch"


def _schema_changes(old: Package, new: Package) -> list[str]:
    changes = []
    old_names, new_names = set(old.tables), set(new.tables)
    changes += [f"table {t} added" for t in sorted(new_names - old_names)]
    changes += [f"table {t} removed" for t in sorted(old_names - new_names)]
    for table in sorted(old_names & new_names):
        before, after = old.schema(table), new.schema(table)
        old_fields = {f["name"]: f for f in before["fields"]}
        new_fields = {f["name"]: f for f in after["fields"]}
        changes += [f"{table}.{f} added" for f in new_fields if f not in old_fields]
        changes += [f"{table}.{f} removed" for f in old_fields if f not in new_fields]
        for name in old_fields.keys() & new_fields.keys():
            if old_fields[name].get("type") != new_fields[name].get("type"):
                changes.append(
                    f"{table}.{name} type {old_fields[name].get('type')} -> "
                    f"{new_fields[name].get('type')}"
                )
        if before.get("primaryKey") != after.get("primaryKey"):
            changes.append(
                f"{table} primary key {before.get('primaryKey')} -> {after.get('primaryKey')}"
            )
    return changes


def _hash(values: list[str] | tuple[str, ...]) -> int:
    return int.from_bytes(
        hashlib.blake2b(
            repr(tuple(values)).encode("utf-8", "surrogatepass"), digest_size=8
        ).digest()
    )


def _hashed(rows, header: list[str], key: list[str], common: list[str], where: str):
    """(key hashes, row hashes) of a table's rows, as compact arrays: the diff's memory is
    16 bytes a row, whatever the cells hold."""
    key_at = [header.index(c) for c in key]
    common_at = [header.index(c) for c in common]
    keys, values = array("Q"), array("Q")
    for row in rows:
        keys.append(_hash([row[i] for i in key_at]))
        values.append(_hash([row[i] for i in common_at]))
        if len(keys) > config.MAX_DIFF_ROWS:
            raise PackageError(f"{where}: more than {config.MAX_DIFF_ROWS} rows; not compared")
    return np.frombuffer(keys, dtype=np.uint64), np.frombuffer(values, dtype=np.uint64)


def _count(package: Package, table: str) -> int:
    with package.rows(table) as (_, rows):
        return sum(1 for _ in rows)


def _table_diff(old: Package, new: Package, table: str) -> TableDiff:
    key = new.schema(table)["primaryKey"]
    with old.rows(table) as (old_header, old_rows), new.rows(table) as (new_header, new_rows):
        if not set(key) <= set(new_header):
            raise PackageError(f"{new.source and new.source.where}: {table} lacks its key columns")
        if not old_header or not set(key) <= set(old_header):
            removed = sum(1 for _ in old_rows)
            return TableDiff(added=sum(1 for _ in new_rows), removed=removed)
        common = [c for c in new_header if c in old_header]
        old_keys, old_values = _hashed(old_rows, old_header, key, common, f"{table} (old)")
        new_keys, new_values = _hashed(new_rows, new_header, key, common, f"{table} (new)")
    order = np.argsort(old_keys, kind="stable")
    old_keys, old_values = old_keys[order], old_values[order]
    at = np.minimum(np.searchsorted(old_keys, new_keys), max(len(old_keys) - 1, 0))
    matched = (old_keys[at] == new_keys) if len(old_keys) else np.zeros(len(new_keys), bool)
    changed = int((old_values[at[matched]] != new_values[matched]).sum())
    kept = len(np.unique(new_keys[matched]))
    return TableDiff(
        added=int((~matched).sum()),
        removed=len(np.unique(old_keys)) - kept,
        changed=changed,
    )


def _metadata_changes(old: Package, new: Package) -> list[str]:
    keys = (old.descriptor.keys() | new.descriptor.keys()) - _VOLATILE
    if not old.descriptor.get("resources"):
        return []
    return [f"{k} changed" for k in sorted(keys) if old.descriptor.get(k) != new.descriptor.get(k)]


def _column_values(package: Package, table: str, columns: list[str]) -> Iterator[tuple]:
    """Some columns of a table's rows, streamed; nothing when the table lacks one."""
    with package.rows(table) as (header, rows):
        if not set(columns) <= set(header):
            return
        at = [header.index(c) for c in columns]
        for row in rows:
            yield tuple(row[i] for i in at)


def diff_packages(old: Package, new: Package) -> PackageDiff:
    """What changed from `old` to `new`: schema, metadata, rows per table (matched by
    primary key, compared on the columns both have), new articles and new versions."""
    result = PackageDiff(old.version if old.tables else None, new.version)
    result.schema_changes = _schema_changes(old, new) if old.tables else []
    result.metadata_changes = _metadata_changes(old, new)
    for table in new.tables:
        result.tables[table] = _table_diff(old, new, table)
    old_ids = {i for (i,) in _column_values(old, "articles", ["article_id"])}
    result.new_articles = [
        (i, t)
        for i, t in _column_values(new, "articles", ["article_id", "title"])
        if i not in old_ids
    ]
    columns = ["article_id", "version", "dump_id", "title"]
    seen = set(_column_values(old, "article_versions", columns[:2]))
    result.new_versions = [
        row
        for row in _column_values(new, "article_versions", columns)
        if row[0] in old_ids and row[:2] not in seen
    ]
    return result


# What would make text a link, an image, HTML, code or a table cell in the changelog.
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`[]<>|"})


def _text(value: object) -> str:
    """Text from the data as one line of literal markdown: control characters escaped (a
    terminal shows it), markdown punctuation escaped (the site renders the changelog)."""
    return shown(value).translate(_MARKDOWN_SPECIAL)


def _code(value: object) -> str:
    """An ID as a markdown code span (where backslashes are literal): no backticks."""
    return "`" + shown(value).replace("`", "'") + "`"


def render_markdown(diff: PackageDiff, heading: str) -> str:
    """The diff as a changelog entry."""
    if diff.old_version and diff.empty:
        summary = f"Compared with {diff.old_version}: no changes, in the data or the metadata."
    elif diff.old_version:
        summary = f"Compared with {diff.old_version}; version bump: **{diff.bump}**."
    else:
        summary = "First release: every row is new."
    lines = [heading, "", summary, ""]
    lines += ["| table | rows added | rows removed | rows changed |", "|---|---:|---:|---:|"]
    lines += [f"| {t} | {d.added} | {d.removed} | {d.changed} |" for t, d in diff.tables.items()]
    lines.append("")
    if diff.schema_changes:
        lines += ["Schema changes:", *[f"- {_text(c)}" for c in diff.schema_changes], ""]
    if diff.metadata_changes:
        lines += ["Metadata changes:", *[f"- {_text(c)}" for c in diff.metadata_changes], ""]
    if diff.new_articles:
        lines += ["New articles:", *[f"- {_code(a)} {_text(t)}" for a, t in diff.new_articles], ""]
    if diff.new_versions:
        lines += [
            "New versions of existing articles:",
            *[
                f"- {_code(a)} version {_text(v)} (dump {_text(d)}): {_text(t)}"
                for a, v, d, t in diff.new_versions
            ],
            "",
        ]
    return "\n".join(lines)
