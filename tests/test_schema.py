"""Schemas: schemas/ is the one source of every field, key and description."""

from __future__ import annotations

import duckdb
import pytest
from frictionless import Schema

from newspack.schema import (
    column_names,
    duckdb_ddl,
    field_registry,
    foreign_keys,
    pandera_schema,
    primary_key,
    table_names,
    table_schema,
    tables_in_dependency_order,
)


def test_every_field_is_described_and_used():
    registry = field_registry()
    used = {name for table in table_names() for name in column_names(table)}
    assert used == set(registry), "fields.yaml and the table files disagree"
    for name, field in registry.items():
        assert len(field["description"]) > 20, name
        assert field["type"] in {"string", "integer", "boolean", "datetime", "number"}, name


@pytest.mark.parametrize("table", table_names())
def test_table_schema_is_valid_frictionless_with_keys(table):
    schema = table_schema(table)
    Schema.from_descriptor(schema)  # raises on an invalid descriptor
    assert set(primary_key(table)) <= set(column_names(table))
    for fk in foreign_keys(table):
        target = fk["reference"]["resource"]
        assert set(fk["reference"]["fields"]) <= set(column_names(target))


@pytest.mark.parametrize("table", table_names())
def test_pandera_schema_is_derived_from_the_table_schema(table):
    schema = pandera_schema(table)
    assert list(schema.columns) == column_names(table)
    required = {
        f["name"] for f in table_schema(table)["fields"] if f.get("constraints", {}).get("required")
    }
    assert {name for name, col in schema.columns.items() if not col.nullable} == required


def test_duckdb_ddl_creates_every_table_with_comments():
    with duckdb.connect() as con:
        for table in tables_in_dependency_order():
            for statement in duckdb_ddl(table):
                con.execute(statement)
        comments = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''"
        ).fetchone()[0]
    assert comments == sum(len(column_names(t)) for t in table_names())
