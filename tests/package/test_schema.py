"""Schemas: schemas/ is the one source of every field, key and description."""

from __future__ import annotations

import duckdb
import pytest
from frictionless import Schema

from newspack.package.schema import (
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


def test_a_row_with_a_misspelled_or_missing_key_is_refused_where_it_is_made():
    from newspack.tables.frames import RowMismatch, to_frame

    row = {column: None for column in column_names("bullets")}
    row |= {"article_id": "art_1", "version": 1, "position": 1, "text": "x", "line": 3}
    assert len(to_frame("bullets", [row])) == 1
    misspelled = {("txt" if k == "text" else k): v for k, v in row.items()}
    with pytest.raises(RowMismatch, match=r"bullets: row 1 .*unknown keys \['txt'\].*\['text'\]"):
        to_frame("bullets", [row, misspelled][1:])
    missing = {k: v for k, v in row.items() if k != "line"}
    with pytest.raises(RowMismatch, match=r"row 2 .*missing keys \['line'\]"):
        to_frame("bullets", [row, missing])


def test_every_table_names_the_modules_that_make_it_and_they_exist():
    """The data dictionary tells a newcomer which module fills a table: it must be true."""
    import re

    from newspack.config import REPO_ROOT
    from newspack.package.schema import table_module

    for table in table_names():
        named = table_module(table)
        main, *helpers = re.findall(r"[\w/]+\.py", named)
        assert (REPO_ROOT / main).is_file(), (table, main)
        for helper in helpers:
            assert (REPO_ROOT / "build/newspack" / helper).is_file(), (table, helper)
