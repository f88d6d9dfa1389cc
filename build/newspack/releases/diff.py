"""After the build (releases), diff: what changed between two published packages.

Each package is read with its own descriptor (an old release may have another schema), rows
matched by their primary key. The diff decides the semver bump of a release and is written
down as the data changelog.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from newspack.config import DESCRIPTOR_NAME

# Descriptor properties that change with every release or build, not with the data.
_VOLATILE = {"version", "created", "resources"}


@dataclass
class Package:
    descriptor: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    @property
    def version(self) -> str | None:
        return self.descriptor.get("version")

    def schema(self, table: str) -> dict[str, Any]:
        resource = next(r for r in self.descriptor["resources"] if r["name"] == table)
        return resource["schema"]


EMPTY = Package({"resources": []}, {})


def _read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


class PackageError(ValueError):
    """A path that is not a readable data package (folder or release zip)."""


def load_package(path: Path) -> Package:
    """Read a package from a folder holding datapackage.json, or from a release zip; raise
    PackageError, naming the path, for anything else."""
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return _package(path, archive.read)
        if path.is_file() and path.name != DESCRIPTOR_NAME:
            raise PackageError(f"{path}: neither a release zip nor a package folder")
        folder = path.parent if path.name == DESCRIPTOR_NAME else path
        if not (folder / DESCRIPTOR_NAME).is_file():
            raise PackageError(f"{path}: no {DESCRIPTOR_NAME} here, and not a release zip")
        return _package(path, lambda name: (folder / name).read_bytes())
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        if isinstance(error, PackageError):
            raise
        raise PackageError(
            f"{path}: not a readable package ({type(error).__name__}: {error})"
        ) from error


def _package(path: Path, read: Callable[[str], bytes]) -> Package:
    descriptor = json.loads(read(DESCRIPTOR_NAME))
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise PackageError(f"{path}: {DESCRIPTOR_NAME} is not a data package descriptor")
    tables = {}
    for resource in descriptor["resources"]:
        location = resource["path"]
        if (
            not isinstance(location, str)
            or Path(location).is_absolute()
            or ".." in Path(location).parts
        ):
            raise PackageError(f"{path}: resource path {location!r} leaves the package")
        schema = resource.get("schema")
        if not isinstance(schema, dict) or not {"primaryKey", "fields"} <= schema.keys():
            raise PackageError(f"{path}: resource {resource.get('name')!r} has no schema and key")
        frame = _read_csv(read(location))
        if missing := set(schema["primaryKey"]) - set(frame.columns):
            raise PackageError(f"{path}: {location} lacks its key columns {sorted(missing)}")
        tables[resource["name"]] = frame
    return Package(descriptor, tables)


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


def _keyed(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.set_index(key, drop=False).sort_index()


def _table_diff(old: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> TableDiff:
    before, after = _keyed(old, key), _keyed(new, key)
    common_keys = before.index.intersection(after.index)
    common_columns = [c for c in after.columns if c in before.columns]
    changed = before.loc[common_keys, common_columns] != after.loc[common_keys, common_columns]
    return TableDiff(
        added=len(after.index.difference(before.index)),
        removed=len(before.index.difference(after.index)),
        changed=int(changed.any(axis=1).sum()) if len(common_keys) else 0,
    )


def _metadata_changes(old: Package, new: Package) -> list[str]:
    keys = (old.descriptor.keys() | new.descriptor.keys()) - _VOLATILE
    if not old.descriptor.get("resources"):
        return []
    return [f"{k} changed" for k in sorted(keys) if old.descriptor.get(k) != new.descriptor.get(k)]


def _articles(package: Package) -> pd.DataFrame:
    return package.tables.get("articles", pd.DataFrame(columns=["article_id", "title"]))


def diff_packages(old: Package, new: Package) -> PackageDiff:
    result = PackageDiff(old.version if old.tables else None, new.version)
    result.schema_changes = _schema_changes(old, new) if old.tables else []
    result.metadata_changes = _metadata_changes(old, new)
    for table, frame in new.tables.items():
        key = new.schema(table)["primaryKey"]
        previous = old.tables.get(table, pd.DataFrame(columns=frame.columns))
        if set(key) <= set(previous.columns):
            result.tables[table] = _table_diff(previous, frame, key)
        else:
            result.tables[table] = TableDiff(added=len(frame), removed=len(previous))
    old_ids = set(_articles(old)["article_id"])
    result.new_articles = [
        (r.article_id, r.title) for r in _articles(new).itertuples() if r.article_id not in old_ids
    ]
    if "article_versions" in new.tables:
        versions = new.tables["article_versions"]
        previous = old.tables.get("article_versions", pd.DataFrame(columns=versions.columns))
        seen = set(zip(previous["article_id"], previous["version"], strict=True))
        result.new_versions = [
            (r.article_id, r.version, r.dump_id, r.title)
            for r in versions.itertuples()
            if r.article_id in old_ids and (r.article_id, r.version) not in seen
        ]
    return result


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
        lines += ["Schema changes:", *[f"- {c}" for c in diff.schema_changes], ""]
    if diff.metadata_changes:
        lines += ["Metadata changes:", *[f"- {c}" for c in diff.metadata_changes], ""]
    if diff.new_articles:
        lines += ["New articles:", *[f"- `{a}` {t}" for a, t in diff.new_articles], ""]
    if diff.new_versions:
        lines += [
            "New versions of existing articles:",
            *[f"- `{a}` version {v} (dump {d}): {t}" for a, v, d, t in diff.new_versions],
            "",
        ]
    return "\n".join(lines)
