"""Stages 5-8 (tables as data frames): typed, ordered, checked against the schema, written.

Column order, dtypes and row order all come from the schema, so a table is written the same
way every time: sorted by primary key, LF line ends, booleans as true/false.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from newspack.package.schema import column_names, field_registry, primary_key

_DTYPES = {"integer": "Int64", "boolean": "boolean", "number": "Float64"}
# Strings (and ISO timestamps) in Arrow: a third of the memory of Python str objects, and
# the dtype pandera's Frictionless importer declares. Missing values are pd.NA.
STRING_DTYPE = "string[pyarrow]"
Tables = dict[str, pd.DataFrame]  # table name -> its frame, every stage from 5 on


def _dtype(column: str) -> str:
    return _DTYPES.get(field_registry()[column]["type"], STRING_DTYPE)


class RowMismatch(ValueError):
    """A row whose keys are not its table's columns (a misspelled or forgotten column)."""


def check_keys(table: str, columns: list[str], rows: list[dict]) -> None:
    expected = set(columns)
    for number, row in enumerate(rows, start=1):
        if row.keys() != expected:
            unknown, missing = sorted(row.keys() - expected), sorted(expected - row.keys())
            raise RowMismatch(
                f"{table}: row {number} does not match schemas/{table}.yaml: "
                f"unknown keys {unknown or 'none'}, missing keys {missing or 'none'}"
            )


def row_from(table: str, made_from: object, /, **values) -> dict:
    """A row of `table`: each column from values when given there, else the attribute of
    that name of made_from (the schema, not the caller, lists the columns)."""
    return {c: values[c] if c in values else getattr(made_from, c) for c in column_names(table)}


def to_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A typed frame with the table's columns in schema order, sorted by primary key.
    Raises RowMismatch for a row with a key the schema does not declare or without one it
    does: a misspelled key must not publish an empty column."""
    columns = column_names(table)
    check_keys(table, columns, rows)
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        dtype = _dtype(column)
        frame[column] = frame[column].astype(dtype)
    return _sorted(table, frame)


def _sorted(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame in primary-key order, emptied column by column as it is copied, so that a
    big table is never held twice."""
    keys = primary_key(table)
    order = frame[keys].sort_values(keys, kind="stable").index.to_numpy()
    columns = list(frame.columns)
    return pd.DataFrame(
        {c: frame.pop(c).take(order).reset_index(drop=True) for c in columns}, columns=columns
    )


def concat_frames(table: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One table from frames of its rows (to_frame's), sorted by primary key; frames is
    emptied, so that its rows are not held twice."""
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frames.clear()
    return _sorted(table, combined)


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as dicts of plain values (None where missing)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def write_csv(frame: pd.DataFrame, path: Path, header: bool = True) -> None:
    """Write the frame as CSV; without header, append it to the file (a table written in
    batches has the bytes of the whole table written at once)."""
    booleans = {
        column: frame[column].map({True: "true", False: "false"}, na_action="ignore")
        for column in frame.columns
        if _dtype(column) == "boolean"
    }
    # assign shares the other columns (copy on write): a big table is not copied to write it
    frame.assign(**booleans).to_csv(
        path,
        index=False,
        header=header,
        mode="w" if header else "a",
        lineterminator="\n",
        encoding="utf-8",
    )


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        if column in field_registry() and _dtype(column) == "boolean":
            frame[column] = frame[column].map({"true": True, "false": False})
    return to_frame(table, frame.to_dict("records"))


def read_csv(table: str, path: Path) -> pd.DataFrame:
    """Read a published table back with its schema's types."""
    return _typed(table, pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))


def read_csv_chunks(table: str, path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """read_csv a chunk of `rows` rows at a time (each chunk sorted within itself)."""
    chunks = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], chunksize=rows)
    for chunk in chunks:
        yield _typed(table, chunk)
