"""Command line: `newspack build`, `validate`, `diff`, `release`, `fetch`, `query`, `site`
(the user's entry to the pipeline).

Every expected failure (bad paths, bad input, a locked or foreign output folder, a broken
download, a hostile release) ends with one message naming the file and exit status 1, never
a traceback; Ctrl-C ends with a message and status 130. Messages and data are printed as
plain text: a path or a value with brackets in it is shown as it is, control characters
escaped.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from newspack import pipeline
from newspack.config import (
    DATA_DIRNAME,
    DESCRIPTOR_NAME,
    DUMPS_DIRNAME,
    RELEASES_INDEX_NAME,
    workspace,
)
from newspack.ingest.find import find_dumps, printable
from newspack.ingest.timing import parse_iso
from newspack.package.ownership import NotOwned
from newspack.package.publish import JOURNAL_NAME, BuildLocked
from newspack.package.schema import table_names
from newspack.package.validate import ValidationFailed, validate_package
from newspack.tables.corpus import corpus_folder

app = typer.Typer(help="Build and check the newspack data package.", no_args_is_help=True)
console = Console(stderr=True)
HERE = "the current folder (the repository when run inside a newspack checkout)"


def say(text: str, style: str | None = None, label: str | None = None) -> None:
    """Print a message as literal text: no rich markup is read from it, and control
    characters (a file name's escape codes) are shown escaped, not sent to the terminal."""
    text = "\n".join(printable(part) for part in text.split("\n"))
    line = Text()
    if label:
        line.append(f"{label}: ", style=style)
        line.append(text)
    else:
        line.append(text, style=style)
    console.print(line, soft_wrap=True)  # a path is never cut across lines


def fail(text: str, status: int = 1) -> typer.Exit:
    say(text, "red")
    return typer.Exit(status)


def interruptible(command: Callable) -> Callable:
    """A command that Ctrl-C ends with one line (Typer would end it silently)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise fail(f"newspack {command.__name__}: interrupted (Ctrl-C)", 130) from None

    return run


def _crawl_times(values: list[str]) -> dict[str, datetime]:
    times = {}
    for value in values:
        dump, sep, when = value.partition("=")
        if not sep:
            raise typer.BadParameter(
                f"{value!r}: expected DUMP=TIME, e.g. 002_9dd4...=2025-12-10T08:00:00Z"
            )
        try:
            times[Path(dump).stem] = parse_iso(when)
        except ValueError as error:
            raise typer.BadParameter(f"{value!r}: {error}") from error
    return times


def _report(report: pipeline.BuildReport) -> list[str]:
    """Print the build's summary; return the problems --strict fails on."""
    summary = Table("table", "rows", title="newspack build")
    for table, count in report.row_counts().items():
        summary.add_row(table, str(count))
    console.print(summary)
    for name, path in report.outputs.items():
        say(f"{name}: {path}")
    work = report.work
    say(
        f"dumps: {work['dumps']} ({work['processed']} read and analysed by "
        f"{work['workers']} process(es), {work['from_cache']} from the cache)"
    )
    for message in report.duplicates():
        say(message, "cyan", "duplicate")
    for message in report.warnings:
        say(message, "yellow", "warning")
    problems = report.problems()
    for message in problems:
        say(message, "red", "quarantined")
    if problems:
        say(f"{len(problems)} bad input(s) quarantined; see the quarantine table.")
    return problems + report.warnings


def _folder(path: Path | None, default: str = "") -> Path:
    return path if path is not None else workspace() / default


@app.command()
@interruptible
def build(
    dumps: Annotated[
        Path | None,
        typer.Option(help="Folder of NNN_<hash>.txt dumps.", show_default=f"dumps/ in {HERE}"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where data/ and datapackage.json go.", show_default=HERE),
    ] = None,
    duckdb: Annotated[
        Path | None, typer.Option(help="DuckDB file.", show_default="OUT/dist/newspack.duckdb")
    ] = None,
    crawl_time: Annotated[
        list[str] | None,
        typer.Option(
            help="DUMP=ISO-TIME: the crawl time of a dump, instead of inferring it. Repeatable."
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="Fail (exit 2) when any input was quarantined, refused, left out or broke "
            "the naming rule; the package is published all the same."
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Worker processes for the dumps.", show_default="every core"
        ),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(help="Reuse the results of dumps that did not change since the last build."),
    ] = True,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            "--cache-dir",
            help="Where dump results are cached: a folder, or an fsspec URL (file://, and "
            "s3:// or gs:// with s3fs or gcsfs installed). With --scheduler, every worker "
            "must reach it.",
            show_default="OUT/.newspack-cache",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="local: worker processes on this machine; dask: tasks on a Dask cluster "
            "(needs the cluster extra)."
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --executor dask: the scheduler of a running cluster, e.g. tcp://HOST:8786.",
            show_default="a LocalCluster of --jobs worker processes",
        ),
    ] = None,
    follow_links: Annotated[
        bool,
        typer.Option(
            help="Read dumps that are symbolic links to files inside the dumps folder "
            "(links are refused by default)."
        ),
    ] = False,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            help="Memory for the corpus-level stages (identity, entities, validation, "
            "publishing), e.g. 4GB: their DuckDB work spills to disk beyond it, whatever "
            "the corpus's size.",
            show_default="an eighth of this machine's memory, 512MiB to 8GiB",
        ),
    ] = None,
) -> None:
    """Build the data package from a folder of dumps."""
    dumps, out = _folder(dumps, DUMPS_DIRNAME), _folder(out)
    overrides = _crawl_times(crawl_time or [])
    runner, cluster_error = _executor(executor, scheduler, jobs)
    cache_dir = store if store is None or "://" in store else Path(store)
    with _dump_progress(_dump_count(dumps, follow_links)) as advance:
        try:
            report = pipeline.run(
                dumps,
                out,
                duckdb,
                overrides,
                advance,
                jobs,
                cache_dir,
                cache,
                follow_links,
                runner,
                memory_limit=memory_limit,
            )
        except ValidationFailed as error:
            raise fail(f"Build failed, nothing published.\n{error}") from error
        except (BuildLocked, NotOwned, FileNotFoundError, ValueError, *cluster_error) as error:
            raise fail(str(error)) from error
        except OSError as error:
            raise fail(f"{error.filename or out}: {error.strerror or error}") from error
    problems = _report(report)
    if strict and problems:
        raise fail(f"--strict: {len(problems)} problem(s), failing.", 2)


def _executor(name: str, scheduler: str | None, jobs: int | None):
    """The executor --executor names, and the error it raises for a cluster it cannot use.
    Dask is imported only here, only for `dask`: a local build needs none of it."""
    if name == "local":
        if scheduler:
            raise typer.BadParameter("--scheduler needs --executor dask")
        return None, ()
    if name != "dask":
        raise typer.BadParameter(f"--executor must be local or dask, not {name!r}")
    try:
        from newspack.execution.cluster import ClusterError, DaskExecutor
    except ImportError as error:
        raise fail(
            f"--executor dask needs Dask ({error}): pip install 'newspack[cluster]'"
        ) from error
    return DaskExecutor(scheduler, jobs), (ClusterError,)


def _dump_count(dumps: Path, follow_links: bool) -> int:
    """How many dumps the build will read (for the progress bar); a clear message when the
    folder cannot be listed."""
    try:
        return len(find_dumps(dumps, follow_links)[0])
    except FileNotFoundError as error:
        raise fail(str(error)) from error
    except OSError as error:  # a name too long, a folder that cannot be listed
        raise fail(f"{dumps}: {error.strerror or error}") from error


@contextmanager
def _dump_progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar of dumps done out of total; yields the callback that advances it."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[name]}", markup=False),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading and analysing dumps", total=total, name="")
        yield lambda name: bar.update(task, advance=1, name=name)


@app.command()
@interruptible
def validate(
    package: Annotated[
        Path | None, typer.Argument(help="Folder holding datapackage.json.", show_default=HERE)
    ] = None,
) -> None:
    """Validate a published package: Frictionless descriptor and data, then newspack's checks."""
    from frictionless import Package

    package = _folder(package)
    descriptor = package / DESCRIPTOR_NAME
    if not descriptor.is_file():
        raise fail(f"{package}: no {DESCRIPTOR_NAME} here; give the folder of a package")
    if (package / JOURNAL_NAME).exists():
        raise fail(
            f"{package}: a build was interrupted while publishing; run "
            "`newspack build` to finish or undo it"
        )
    try:
        report = Package(str(descriptor)).validate()
    except Exception as error:  # frictionless raises its own errors for broken descriptors
        raise fail(f"{descriptor}: not a valid data package ({error})") from error
    if not report.valid:
        for error in report.flatten(["type", "message"]):
            say(error[1], "red", error[0])
        raise typer.Exit(1)
    missing = [t for t in table_names() if not (package / DATA_DIRNAME / f"{t}.csv").is_file()]
    if missing:
        raise fail(f"{descriptor}: valid, but not a newspack package (no {', '.join(missing)})")
    try:
        with corpus_folder(None) as scratch:
            rows = validate_package(package / DATA_DIRNAME, scratch)
    except ValidationFailed as error:
        raise fail(str(error)) from error
    except ValueError as error:  # a CSV that is not its table's (frames.RowMismatch, types)
        raise fail(f"{package / DATA_DIRNAME}: {error}") from error
    say(f"{descriptor}: valid ({rows} rows)")


@app.command()
@interruptible
def diff(
    old: Annotated[Path, typer.Argument(help="Package folder or release zip.")],
    new: Annotated[Path, typer.Argument(help="Package folder or release zip.")],
) -> None:
    """Print what changed in the data between two packages (folders or release zips)."""
    from newspack.releases.diff import diff_packages, load_package, render_markdown
    from newspack.releases.untrusted import Refused

    try:
        changes = diff_packages(load_package(old), load_package(new))
    except Refused as error:
        raise fail(str(error)) from None
    heading = f"## {changes.old_version} -> {changes.new_version}"
    # Text from the packages is escaped by render_markdown; printable() once more for the
    # headings, so that nothing reaches the terminal raw.
    typer.echo("\n".join(printable(line) for line in render_markdown(changes, heading).split("\n")))


@app.command()
@interruptible
def release(
    dumps: Annotated[
        Path | None, typer.Option(help="Folder of dumps.", show_default=f"dumps/ in {HERE}")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Package folder (holds releases.json).", show_default=HERE),
    ] = None,
    bump: Annotated[
        str | None, typer.Option(help="Force major, minor or patch instead of the rule.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Where releases are downloaded from (a fork or mirror).",
            show_default="$NEWSPACK_RELEASE_BASE_URL, else the homepage in schemas/package.yaml",
        ),
    ] = None,
) -> None:
    """Build, diff against the previous release, bump the version, write the release zip."""
    from newspack.releases.release import BUMPS, ReleaseError
    from newspack.releases.release import release as make_release
    from newspack.releases.untrusted import Refused

    if bump is not None and bump not in BUMPS:
        raise typer.BadParameter(f"--bump must be one of {', '.join(BUMPS)}")
    try:
        made = make_release(_folder(dumps, DUMPS_DIRNAME), _folder(out), bump, base_url)
    except (ReleaseError, ValidationFailed, BuildLocked, NotOwned, FileNotFoundError) as error:
        raise fail(str(error)) from error
    except Refused as error:  # the releases index, or the previous release
        raise fail(f"cannot release: {error}") from None
    except OSError as error:
        raise fail(f"{error.filename or out}: {error.strerror or error}") from None
    for note in made.notes:
        say(note, "yellow", "warning")
    say(f"released {made.version} ({made.diff.bump}): {made.zip_path}")
    say(f"sha256 {made.sha256}; CHANGELOG.md and releases.json updated")


@app.command()
@interruptible
def fetch(
    version: Annotated[str, typer.Argument(help="Release version, e.g. 0.1.0.")],
    index: Annotated[
        str | None,
        typer.Option(help="releases.json: a path or URL.", show_default=f"releases.json in {HERE}"),
    ] = None,
    cache: Annotated[Path | None, typer.Option(help="Download cache folder.")] = None,
) -> None:
    """Download a release zip by version, verify its checksum, and print its path."""
    from newspack.releases.fetch import FetchError
    from newspack.releases.fetch import fetch as fetch_release

    try:
        typer.echo(fetch_release(version, index or workspace() / RELEASES_INDEX_NAME, cache))
    except FetchError as error:
        raise fail(str(error)) from None


@app.command()
@interruptible
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run (read-only): tables and views.")],
    package: Annotated[Path | None, typer.Option(help="Package folder.", show_default=HERE)] = None,
    version: Annotated[
        str | None,
        typer.Option(help="Query a released version instead (downloaded and verified)."),
    ] = None,
    index: Annotated[
        str | None,
        typer.Option(help="releases.json: a path or URL.", show_default=f"releases.json in {HERE}"),
    ] = None,
    cache: Annotated[Path | None, typer.Option(help="Download cache folder.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run SQL on the package's DuckDB file (or a released version's) and print the result."""
    from newspack.config import DIST_DIRNAME, DUCKDB_NAME
    from newspack.releases.fetch import FetchError
    from newspack.releases.fetch import fetch as fetch_release
    from newspack.releases.query import (
        FORMATS,
        QueryError,
        as_csv,
        as_json,
        duckdb_of_release,
        run_query,
    )
    from newspack.releases.untrusted import Refused

    if output not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    try:
        if version:
            zip_path = fetch_release(version, index or workspace() / RELEASES_INDEX_NAME, cache)
            database = duckdb_of_release(zip_path)
        else:
            database = _folder(package) / DIST_DIRNAME / DUCKDB_NAME
        columns, rows = run_query(database, sql)
    except (FetchError, QueryError, Refused) as error:
        raise fail(str(error)) from None
    if output == "csv":
        typer.echo(as_csv(columns, rows, terminal=sys.stdout.isatty()), nl=False)
    elif output == "json":
        typer.echo(as_json(columns, rows))
    else:
        Console().print(_result_table(columns, rows))


def _result_table(columns: list[str], rows: list) -> Table:
    """A query's result as a rich table of literal text: no markup read from a value, no
    control character sent to the terminal."""
    result = Table()
    for column in columns:
        result.add_column(Text(printable(str(column))))
    for row in rows:
        result.add_row(*(Text("" if v is None else printable(str(v))) for v in row))
    return result


@app.command()
@interruptible
def site(
    package: Annotated[
        Path | None, typer.Option(help="Package folder (datapackage.json).", show_default=HERE)
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the site: new, empty, or a site newspack built before (replaced).",
            show_default="site/ in the package folder",
        ),
    ] = None,
    sql_engine: Annotated[
        bool,
        typer.Option(
            help="Bundle the SQL page's engine (DuckDB-WASM, pinned; installed once with npm "
            "into --engine-cache). Without it, or without npm, the SQL page says it is missing."
        ),
    ] = True,
    engine_cache: Annotated[
        Path | None,
        typer.Option(
            help="Folder newspack keeps the SQL engine in (new, empty, or one newspack made).",
            show_default="$XDG_CACHE_HOME/newspack/sql-engine",
        ),
    ] = None,
) -> None:
    """Build the static dataset site (overview, data dictionary, examples, SQL, downloads)."""
    from newspack.releases.untrusted import Refused
    from newspack.site import EngineUnavailable, SiteError, build_site
    from newspack.site import NotOwned as SiteNotOwned
    from newspack.site.engine import prepare_engine

    def engine():
        try:
            return prepare_engine(engine_cache)
        except EngineUnavailable as error:
            say(f"{error}; the site's SQL page says it has no engine", "yellow", "warning")
            raise

    package = _folder(package)
    out = out if out is not None else package / "site"
    try:
        written = build_site(package, out, engine if sql_engine else None)
    except (SiteError, SiteNotOwned, Refused) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"{error.filename or out}: {error.strerror or error}") from error
    pages = sum(1 for path in written if path.suffix == ".html")
    say(f"site: {out} ({pages} pages, {len(written)} files); open {out / 'index.html'}")


if __name__ == "__main__":
    app()
