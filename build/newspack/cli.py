"""Command line: `newspack build` and `newspack validate` (the user's entry to the pipeline)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from newspack import pipeline
from newspack.config import DATA_DIRNAME, DEFAULT_DUMPS_DIR, DEFAULT_OUT_DIR, DESCRIPTOR_NAME
from newspack.fetch import DEFAULT_INDEX
from newspack.frames import read_csv
from newspack.publish import JOURNAL_NAME, BuildLocked
from newspack.schema import table_names
from newspack.timing import parse_iso
from newspack.validate import ValidationFailed, validate_tables

app = typer.Typer(help="Build and check the newspack data package.", no_args_is_help=True)
console = Console(stderr=True)


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
        console.print(f"{name}: {path}")
    work = report.work
    console.print(
        f"dumps: {work['dumps']} ({work['processed']} read and analysed by "
        f"{work['workers']} process(es), {work['from_cache']} from the cache)"
    )
    for message in report.duplicates():
        console.print(f"[cyan]duplicate:[/cyan] {message}")
    for message in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {message}")
    problems = report.problems()
    for message in problems:
        console.print(f"[red]quarantined:[/red] {message}")
    if problems:
        console.print(f"{len(problems)} bad input(s) quarantined; see the quarantine table.")
    return problems + report.warnings


@app.command()
def build(
    dumps: Annotated[
        Path, typer.Option(help="Folder of NNN_<hash>.txt dumps.")
    ] = DEFAULT_DUMPS_DIR,
    out: Annotated[
        Path, typer.Option(help="Where data/ and datapackage.json go.")
    ] = DEFAULT_OUT_DIR,
    duckdb: Annotated[
        Path | None, typer.Option(help="DuckDB file [default: OUT/dist/newspack.duckdb].")
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
            help="Fail (exit 2) when any input was quarantined, refused or broke the naming rule; "
            "the package is published all the same."
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Worker processes for the dumps [default: every core]."
        ),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(help="Reuse the results of dumps that did not change since the last build."),
    ] = True,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder [default: OUT/.newspack-cache].")
    ] = None,
) -> None:
    """Build the data package from a folder of dumps."""
    overrides = _crawl_times(crawl_time or [])
    try:
        paths, _ = pipeline.find_dumps(dumps)
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[name]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading and analysing dumps", total=len(paths), name="")

        def advance(name: str) -> None:
            bar.update(task, advance=1, name=name)

        try:
            report = pipeline.run(
                dumps, out, duckdb, overrides, advance, jobs, cache_dir, use_cache=cache
            )
        except ValidationFailed as error:
            console.print(f"[red]Build failed, nothing published.[/red]\n{error}")
            raise typer.Exit(1) from error
        except BuildLocked as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
    problems = _report(report)
    if strict and problems:
        console.print(f"[red]--strict: {len(problems)} problem(s), failing.[/red]")
        raise typer.Exit(2)


@app.command()
def validate(
    package: Annotated[
        Path, typer.Argument(help="Folder holding datapackage.json.")
    ] = DEFAULT_OUT_DIR,
) -> None:
    """Validate a published package: Frictionless descriptor and data, then newspack's checks."""
    from frictionless import Package

    descriptor = package / DESCRIPTOR_NAME
    if (package / JOURNAL_NAME).exists():
        console.print(
            f"[red]{package}: a build was interrupted while publishing; run "
            "`newspack build` to finish or undo it[/red]"
        )
        raise typer.Exit(1)
    report = Package(str(descriptor)).validate()
    if not report.valid:
        for error in report.flatten(["type", "message"]):
            console.print(f"[red]{error[0]}[/red]: {error[1]}")
        raise typer.Exit(1)
    tables = {t: read_csv(t, package / DATA_DIRNAME / f"{t}.csv") for t in table_names()}
    try:
        validate_tables(tables)
    except ValidationFailed as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"{descriptor}: valid ({sum(len(f) for f in tables.values())} rows)")


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="Package folder or release zip.")],
    new: Annotated[Path, typer.Argument(help="Package folder or release zip.")],
) -> None:
    """Print what changed in the data between two packages (folders or release zips)."""
    from newspack.diff import diff_packages, load_package, render_markdown

    changes = diff_packages(load_package(old), load_package(new))
    heading = f"## {changes.old_version} -> {changes.new_version}"
    typer.echo(render_markdown(changes, heading))


@app.command()
def release(
    dumps: Annotated[Path, typer.Option(help="Folder of dumps.")] = DEFAULT_DUMPS_DIR,
    out: Annotated[
        Path, typer.Option(help="Package folder (holds releases.json).")
    ] = DEFAULT_OUT_DIR,
    bump: Annotated[
        str | None, typer.Option(help="Force major, minor or patch instead of the rule.")
    ] = None,
) -> None:
    """Build, diff against the previous release, bump the version, write the release zip."""
    from newspack.release import BUMPS, ReleaseError
    from newspack.release import release as make_release

    if bump is not None and bump not in BUMPS:
        raise typer.BadParameter(f"--bump must be one of {', '.join(BUMPS)}")
    try:
        made = make_release(dumps, out, bump)
    except ReleaseError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"released {made.version} ({made.diff.bump}): {made.zip_path}")
    console.print(f"sha256 {made.sha256}; CHANGELOG.md and releases.json updated")


@app.command()
def fetch(
    version: Annotated[str, typer.Argument(help="Release version, e.g. 0.1.0.")],
    index: Annotated[str, typer.Option(help="releases.json: a path or URL.")] = str(DEFAULT_INDEX),
    cache: Annotated[Path | None, typer.Option(help="Download cache folder.")] = None,
) -> None:
    """Download a release zip by version, verify its checksum, and print its path."""
    from newspack.fetch import FetchError
    from newspack.fetch import fetch as fetch_release

    try:
        typer.echo(fetch_release(version, index, cache))
    except FetchError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error


if __name__ == "__main__":
    app()
