"""Stage 6, publish: write the CSVs, datapackage.json and the DuckDB file.

Everything is first written into a staging folder next to the target; the published files
are replaced only once the whole package is written, so a failed build leaves the previous
package in place. Outputs depend on the inputs only (no wall-clock time), byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from newspack.config import DATA_DIRNAME, DESCRIPTOR_NAME, DIST_DIRNAME, DUCKDB_NAME
from newspack.frames import write_csv
from newspack.schema import (
    column_names,
    duckdb_ddl,
    field_registry,
    package_metadata,
    table_description,
    table_names,
    table_schema,
    tables_in_dependency_order,
)

Tables = dict[str, pd.DataFrame]
_DUCKDB_CASTS = {"integer": "BIGINT", "boolean": "BOOLEAN", "datetime": "TIMESTAMPTZ"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resource(table: str, csv_path: Path) -> dict[str, Any]:
    title, description = table_description(table)
    return {
        "name": table,
        "type": "table",
        "path": f"{DATA_DIRNAME}/{table}.csv",
        "scheme": "file",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": title,
        "description": " ".join(description.split()),
        "bytes": csv_path.stat().st_size,
        "hash": "sha256:" + _sha256(csv_path),
        "schema": table_schema(table),
    }


def descriptor(tables: Tables, data_dir: Path) -> dict[str, Any]:
    """datapackage.json contents; `created` is the newest crawl time, not the build time."""
    meta = package_metadata()
    dumps = tables["dumps"]
    crawl_times = dumps["crawl_time"].dropna()
    package: dict[str, Any] = {
        "name": meta["name"],
        "title": meta["title"],
        "description": " ".join(meta["description"].split()),
        "version": meta["version"],
        "homepage": meta["homepage"],
        "keywords": meta["keywords"],
        "licenses": meta["licenses"],
        "sources": [
            {
                "title": row.file,
                "path": f"dumps/{row.file}",
                "sha256": row.sha256,
                "bytes": int(row.bytes),
            }
            for row in dumps.itertuples()
        ],
        "resources": [_resource(t, data_dir / f"{t}.csv") for t in table_names()],
    }
    if not crawl_times.empty:
        package["created"] = max(crawl_times)
    return package


def _views_sql() -> str:
    return resources.files("newspack").joinpath("views.sql").read_text(encoding="utf-8")


def write_duckdb(data_dir: Path, path: Path) -> None:
    """A DuckDB file with every table (keys, comments) loaded from the CSVs, and the views."""
    registry = field_registry()
    with duckdb.connect(str(path)) as con:
        for table in tables_in_dependency_order():
            for statement in duckdb_ddl(table):
                con.execute(statement)
            select = ", ".join(
                f'CAST("{c}" AS {_DUCKDB_CASTS.get(registry[c]["type"], "VARCHAR")})'
                for c in column_names(table)
            )
            csv_path = (data_dir / f"{table}.csv").as_posix().replace("'", "''")
            con.execute(
                f'INSERT INTO "{table}" SELECT {select} FROM '
                f"read_csv('{csv_path}', header = true, all_varchar = true)"
            )
        con.execute(_views_sql())


def _replace(staged: Path, target: Path) -> None:
    """Swap a staged file or folder into place (rename is atomic for a file)."""
    if staged.is_dir():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staged.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, target)


def publish(tables: Tables, out_dir: Path, duckdb_path: Path | None = None) -> dict[str, Path]:
    """Write the package into out_dir (data/, datapackage.json) and the DuckDB file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    duckdb_path = duckdb_path or out_dir / DIST_DIRNAME / DUCKDB_NAME
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".newspack-staging-", dir=out_dir))
    try:
        data_dir = staging / DATA_DIRNAME
        data_dir.mkdir()
        for table in table_names():
            write_csv(tables[table], data_dir / f"{table}.csv")
        package = descriptor(tables, data_dir)
        (staging / DESCRIPTOR_NAME).write_text(
            json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        write_duckdb(data_dir, staging / DUCKDB_NAME)
        _replace(data_dir, out_dir / DATA_DIRNAME)
        _replace(staging / DESCRIPTOR_NAME, out_dir / DESCRIPTOR_NAME)
        _replace(staging / DUCKDB_NAME, duckdb_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "data": out_dir / DATA_DIRNAME,
        "descriptor": out_dir / DESCRIPTOR_NAME,
        "duckdb": duckdb_path,
    }
