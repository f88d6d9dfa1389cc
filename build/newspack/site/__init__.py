"""After the build (the dataset site): a static, offline website made from the published package.

`build_site(package_dir, out)` reads the package folder alone (`datapackage.json`, `data/`,
`CHANGELOG.md`, `releases.json`, the README's example queries), as untrusted input (no
link out of the folder is followed; the examples run in a SQL sandbox), and writes an overview with
charts, a data dictionary page per table, the example queries with their results, a SQL
page, the changelog and the downloads. Pages are plain HTML with one stylesheet and SVG
charts drawn at build time: no script and nothing from the network (the SQL page alone runs
a script, the site's own, on the site's own Parquet files), and two builds of the same
package give the same bytes (except the owner marker, which is newspack's own bookkeeping).

No table is ever held whole in memory, so a package larger than memory makes a site too:
the CSVs are streamed into a scratch DuckDB file beside `out` (removed afterwards), the
examples, charts and counts are queries on it, the Parquet files are written from it in
row groups, and the CSVs are copied file to file.

Modules: `package` reads the package, `database` loads its tables into the scratch file,
`examples` runs the queries, `charts` draws, `markup` and `pages` write HTML, `sql` writes
the SQL page and the Parquet files, `engine` vendors DuckDB-WASM, `output` guards and swaps
the output folder, `upstream` holds the only imports from the rest of newspack.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from newspack.site import pages, sql
from newspack.site.charts import Chart, render_charts
from newspack.site.database import package_database, row_counts
from newspack.site.engine import Engine, EngineUnavailable
from newspack.site.examples import ExampleResult, run_examples
from newspack.site.markup import FAVICON, STYLESHEET, table_page
from newspack.site.output import check_site_target, staged_site
from newspack.site.package import CHUNK_ROWS, DESCRIPTOR, Package, SiteError, read_package
from newspack.site.upstream import NotOwned

__all__ = ["EngineUnavailable", "NotOwned", "SiteError", "build_site", "check_site_target"]

NO_ENGINE = "the site was built without it"


def build_site(
    package_dir: Path,
    out: Path,
    engine: Engine | Callable[[], Engine] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[Path]:
    """Build the site of the package in `package_dir` into `out`; the paths written there.

    `engine` is the SQL page's engine bundle (engine.py), or a function that prepares it,
    called once the package has been read and its examples run (EngineUnavailable from it
    leaves the SQL page saying why there is no engine); None builds the site without one.
    `chunk_rows` is how many rows of a CSV are held at once while the tables are loaded.

    Raises SiteError for a package that cannot be shown, NotOwned for an `out` that is not
    newspack's to replace; in both cases `out` is left as it was."""
    package_dir, out = Path(package_dir).resolve(), Path(out).absolute()
    if out.resolve() == package_dir or package_dir.is_relative_to(out.resolve()):
        raise SiteError(f"{out}: --out holds the package itself; give the site its own folder")
    check_site_target(out)  # refuse before the (slower) reading and drawing
    package = read_package(package_dir)
    with package_database(package, out.parent, chunk_rows) as con:
        results = run_examples(package, con)  # first: a refused example stops the build soonest
        charts = render_charts(con)
        counts = row_counts(package, con)
        engine, missing = _prepared(engine)
        with staged_site(out) as staging:
            parquet = sql.write_parquet_files(package, con, staging)
            written = _write_pages(
                package, staging, results, charts, counts, parquet, engine, missing
            )
    return sorted(out / relative for relative in written)


def _prepared(engine: Engine | Callable[[], Engine] | None) -> tuple[Engine | None, str]:
    """The engine bundle, or None and why there is none."""
    if not callable(engine):
        return engine, NO_ENGINE
    try:
        return engine(), NO_ENGINE
    except EngineUnavailable as error:
        return None, str(error)


def _write_pages(
    package: Package,
    staging: Path,
    results: list[ExampleResult],
    charts: list[Chart],
    counts: dict[str, int],
    parquet: list[sql.ParquetFile],
    engine: Engine | None,
    missing: str,
) -> list[str]:
    """Every file of the site but the Parquet files (written already) into `staging`; the
    relative paths of all of them."""
    head, sql_body, sql_footer = sql.page(package, results, parquet, engine, missing)
    files: dict[str, str | bytes] = {
        "index.html": pages.overview(package, charts, counts),
        "examples.html": pages.examples(package, results),
        sql.PAGE: pages.sql(package, head, sql_body, sql_footer),
        "changelog.html": pages.changelog(package),
        "downloads.html": pages.downloads(package),
        STYLESHEET: resources.files(__name__).joinpath(STYLESHEET).read_bytes(),
        FAVICON: resources.files(__name__).joinpath(FAVICON).read_bytes(),
    }
    if engine is not None:
        files[sql.SCRIPT] = resources.files(__name__).joinpath(sql.SCRIPT).read_bytes()
    for table in package.tables.values():
        files[table_page(table.name)] = pages.table(package, table, counts[table.name])
    for href in pages.guide_pages(package):
        files[href] = pages.guide_page(package, href)
    for chart in charts:
        files[f"charts/{chart.name}.svg"] = chart.svg
    vendored = [f"{sql.VENDOR}/{name}" for name in sorted(engine.files)] if engine else []
    for relative, content in files.items():
        _write(staging / relative, content)
    for relative in vendored:  # checked against the bundle's manifest when it was loaded
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(engine.folder / relative.rsplit("/", 1)[-1], staging / relative)
    # The package's own files, so that the site's download links work offline too:
    # the real paths checked when they were read (inside the folder, regular files).
    _write(staging / DESCRIPTOR, package.source.read(DESCRIPTOR))
    for table in package.tables.values():
        target = staging / "data" / table.csv_path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package.source.path(table.resource["path"]), target)
    return [
        *files,
        *vendored,
        *(f.path for f in parquet),
        DESCRIPTOR,
        *(f"data/{t.csv_path.name}" for t in package.tables.values()),
    ]


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
