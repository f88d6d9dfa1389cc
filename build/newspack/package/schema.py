"""Stages 5-8 (schemas): resolve schemas/ into Frictionless, pandera and DuckDB forms.

schemas/fields.yaml declares every field once; schemas/<table>.yaml lists a table's field
names, keys and description. Everything else (datapackage.json schemas, pandera checks,
DuckDB DDL and comments, column order of every output) is derived here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pandera.pandas as pa
import yaml
from pandera.io.pandas_io import from_frictionless_schema

from newspack.config import SCHEMAS_DIR

# Frictionless type -> DuckDB column type.
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "datetime": "TIMESTAMPTZ",
    "date": "DATE",
}

# Frictionless types that pandera's importer maps to a dtype our frames do not use:
# timestamps are kept as ISO 8601 strings end to end so the CSV bytes are exact.
_PANDERA_TYPE_OVERRIDES = {"datetime": "string"}
ISO_UTC_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def field_registry() -> dict[str, dict[str, Any]]:
    """Every field declared in schemas/fields.yaml, keyed by name."""
    return _load_yaml(SCHEMAS_DIR / "fields.yaml")


# The version a release is building, when it may not write it into schemas/package.yaml
# (an installed newspack never writes into its own installation).
_release_version: str | None = None


@contextmanager
def release_version(version: str) -> Iterator[None]:
    """Build as `version` without writing it into schemas/package.yaml."""
    global _release_version
    previous, _release_version = _release_version, version
    try:
        yield
    finally:
        _release_version = previous


def package_metadata() -> dict[str, Any]:
    """Package-level metadata from schemas/package.yaml, read again whenever the file
    changes (`newspack release` writes the version into it in a checkout)."""
    path = SCHEMAS_DIR / "package.yaml"
    stat = path.stat()
    metadata = _package_metadata(path, stat.st_mtime_ns, stat.st_size)
    return metadata if _release_version is None else {**metadata, "version": _release_version}


@cache
def _package_metadata(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return _load_yaml(path)


def table_names() -> list[str]:
    """Published tables, referenced tables first."""
    return list(package_metadata()["tables"])


@cache
def _table_spec(table: str) -> dict[str, Any]:
    path = SCHEMAS_DIR / f"{table}.yaml"
    if not path.exists():
        raise KeyError(f"no schema file for table {table!r}: expected {path}")
    return _load_yaml(path)


def table_description(table: str) -> tuple[str, str]:
    """(title, description) of a table."""
    spec = _table_spec(table)
    return spec["title"], spec["description"]


def table_module(table: str) -> str:
    """The pipeline module that makes a table's rows (schemas/<table>.yaml: module)."""
    return _table_spec(table)["module"]


def tables_in_dependency_order() -> list[str]:
    """Tables ordered so that every table comes after the tables it references."""
    ordered: list[str] = []
    pending = table_names()
    while pending:
        ready = [
            t
            for t in pending
            if all(fk["reference"]["resource"] in ordered for fk in foreign_keys(t))
        ]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {pending}")
        ordered += ready
        pending = [t for t in pending if t not in ready]
    return ordered


def column_names(table: str) -> list[str]:
    """Columns of a table, in schema order."""
    return list(_table_spec(table)["fields"])


def primary_key(table: str) -> list[str]:
    return list(_table_spec(table)["primaryKey"])


def foreign_keys(table: str) -> list[dict[str, Any]]:
    return copy.deepcopy(_table_spec(table).get("foreignKeys", []))


def table_schema(table: str) -> dict[str, Any]:
    """The Frictionless table schema of a table, fields resolved from the registry."""
    registry = field_registry()
    fields = []
    for name in column_names(table):
        if name not in registry:
            raise KeyError(f"table {table!r} lists field {name!r}, absent from fields.yaml")
        fields.append({"name": name, **copy.deepcopy(registry[name])})
    schema: dict[str, Any] = {"fields": fields, "primaryKey": primary_key(table)}
    if fks := foreign_keys(table):
        schema["foreignKeys"] = fks
    return schema


_NON_EMPTY = pa.Check.str_length(min_value=1, name="non-empty text", error="non-empty text")


@cache
def pandera_schema(table: str) -> pa.DataFrameSchema:
    """pandera schema derived from the Frictionless schema (plus our timestamp format)."""
    frictionless_form = table_schema(table)
    frictionless_form.pop("foreignKeys", None)  # pandera ignores them; validate.py checks them
    for field in frictionless_form["fields"]:
        if field["type"] in _PANDERA_TYPE_OVERRIDES:
            field["type"] = _PANDERA_TYPE_OVERRIDES[field["type"]]
            field.setdefault("constraints", {})["pattern"] = ISO_UTC_PATTERN
    schema = from_frictionless_schema(frictionless_form)
    # The importer types integers as int64, which cannot hold an empty optional value.
    optional_integers = {
        f["name"]: {"dtype": "Int64"}
        for f in frictionless_form["fields"]
        if f["type"] == "integer" and not f.get("constraints", {}).get("required")
    }
    schema = schema.update_columns(optional_integers) if optional_integers else schema
    # A CSV cell cannot hold an empty string (it reads back as missing, and DuckDB refuses
    # it in a NOT NULL column): text is either absent or non-empty.
    schema = schema.update_columns(
        {
            f["name"]: {"checks": [*schema.columns[f["name"]].checks, _NON_EMPTY]}
            for f in frictionless_form["fields"]
            if f["type"] == "string"
        }
    )
    schema.name = table
    return schema


def duckdb_ddl(table: str) -> list[str]:
    """CREATE TABLE (with keys) and COMMENT ON statements for a table."""
    registry = field_registry()
    columns = []
    for name in column_names(table):
        field = registry[name]
        not_null = " NOT NULL" if field.get("constraints", {}).get("required") else ""
        columns.append(f'    "{name}" {duckdb_type(field["type"])}{not_null}')
    keys = ", ".join(f'"{c}"' for c in primary_key(table))
    columns.append(f"    PRIMARY KEY ({keys})")
    for fk in foreign_keys(table):
        own = ", ".join(f'"{c}"' for c in fk["fields"])
        ref = fk["reference"]
        theirs = ", ".join(f'"{c}"' for c in ref["fields"])
        columns.append(f'    FOREIGN KEY ({own}) REFERENCES "{ref["resource"]}" ({theirs})')
    statements = [f'CREATE TABLE "{table}" (\n' + ",\n".join(columns) + "\n)"]
    title, description = table_description(table)
    statements.append(f'COMMENT ON TABLE "{table}" IS {_sql_string(title + ": " + description)}')
    for name in column_names(table):
        statements.append(
            f'COMMENT ON COLUMN "{table}"."{name}" IS {_sql_string(registry[name]["description"])}'
        )
    return statements


def duckdb_type(frictionless_type: str) -> str:
    """The DuckDB column type of a Frictionless field type."""
    return _DUCKDB_TYPES[frictionless_type]


def _sql_string(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"
