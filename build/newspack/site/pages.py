"""After the build (the dataset site): the pages: overview, one per table, examples, changelog,
downloads. Each function returns a page's HTML; `markup` escapes every value from the data.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from newspack.site.charts import Chart
from newspack.site.examples import ExampleResult
from newspack.site.markup import (
    data_table,
    esc,
    external_link,
    guide,
    html_table,
    link,
    markdown,
    markdown_inline,
    page,
    table_page,
)
from newspack.site.package import Package, Table

# The maps take a whole row each: places need room for their labels.
WIDE_CHARTS = ("places-map", "focus-map")


def _page(package: Package, title: str, current: str, body: str, **extra: str) -> str:
    name = str(package.descriptor.get("name") or "dataset")
    tables = list(package.tables)
    guides = [(href, title) for href, (_, title, _) in guide_pages(package).items()]
    return page(title, name, package.version, current, tables, body, guides=guides, **extra)


README_PAGE = "readme.html"


def guide_pages(package: Package) -> dict[str, tuple[str, str, str]]:
    """The site's page of README.md and of each guide in docs/: file name -> (the markdown
    file it shows, its title, its text)."""
    found = [("README.md", package.readme, README_PAGE)] if package.readme else []
    found += [
        (f"docs/{name}.md", text, f"guide-{name}.html") for name, text in package.docs.items()
    ]
    out = {}
    for source, text, href in found:
        heading = next(
            (line[2:].strip() for line in text.splitlines() if line.startswith("# ")), ""
        )
        # "Data dictionary: <the package's title>" is "Data dictionary" in the navigation.
        title = "Read me" if source == "README.md" else heading.split(":")[0] or source
        out[href] = (source, title, text)
    return out


def guide_page(package: Package, href: str) -> str:
    """The page of a guide: its markdown, links to other guides made links to their pages,
    links to other files of the repository made links to them on its home page."""
    source, title, text = guide_pages(package)[href]
    first, _, rest = text.partition("\n")
    if first.startswith("<!--") and first.endswith("-->"):
        text = rest  # a generated file's marker comment (the data dictionary's): not shown
    body = guide(text, _guide_links(package, source))
    return _page(package, title, href, f'<div class="prose">{body}</div>')


def _guide_links(package: Package, source: str) -> Callable[[str], str | None]:
    pages = {file: href for href, (file, _, _) in guide_pages(package).items()}
    pages["CHANGELOG.md"] = "changelog.html"
    homepage = str(package.descriptor.get("homepage") or "").rstrip("/")

    def href(target: str) -> str | None:
        path, hash_, fragment = target.partition("#")
        file = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if file in pages:
            return pages[file] + hash_ + fragment
        if homepage.startswith("https://") and not file.startswith(".."):
            return f"{homepage}/blob/main/{file}{hash_}{fragment}"
        return None  # no page and no home page: the text alone

    return href


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


def human_bytes(count: object) -> str:
    try:
        size = float(count)
    except (TypeError, ValueError):
        return ""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def overview(package: Package, charts: list[Chart], counts: dict[str, int]) -> str:
    """The home page; `counts` are the rows of each table (database.row_counts)."""
    meta = package.descriptor
    title = str(meta.get("title") or meta.get("name") or "Dataset")
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="lead">{esc(meta.get("description", ""))}</p>',
        _facts(package),
        '<h2 id="charts">At a glance</h2>',
        '<div class="charts">' + "".join(_chart(chart) for chart in charts) + "</div>",
        '<h2 id="tables">Tables</h2>',
        _row_counts(package, counts),
        '<h2 id="sources">Sources</h2>',
        _sources(package),
        '<h2 id="cite">How to cite</h2>',
        f'<blockquote class="citation">{esc(citation(package))}</blockquote>',
    ]
    return _page(package, "Overview", "index.html", "\n".join(body))


def _facts(package: Package) -> str:
    meta = package.descriptor
    licences = "; ".join(
        external_link(lic.get("path"), str(lic.get("title") or lic.get("name") or ""))
        for lic in meta.get("licenses", [])
        if isinstance(lic, dict)
    )
    rows = [
        ("Version", esc(package.version)),
        ("Data as of", esc(meta.get("created", "unknown"))),
        ("Licence", licences or "not stated"),
        ("Home page", external_link(meta.get("homepage")) if meta.get("homepage") else "none"),
        ("Files", f"{link('datapackage.json', 'datapackage.json')} and one CSV per table"),
    ]
    items = "".join(f"<dt>{esc(key)}</dt><dd>{value}</dd>" for key, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _chart(chart: Chart) -> str:
    wide = " wide" if chart.name in WIDE_CHARTS else ""
    source = link(table_page(chart.source), chart.source) + " table"
    return (
        f'<figure class="chart{wide}" id="chart-{esc(chart.name)}">'
        f'<img src="charts/{esc(chart.name)}.svg" alt="{esc(chart.alt)}">'
        f"<figcaption>{esc(chart.alt)} From {source}.</figcaption></figure>"
    )


def _row_counts(package: Package, counts: dict[str, int]) -> str:
    rows = [
        [
            link(table_page(t.name), t.name),
            f'<span class="count">{counts[t.name]}</span>',
            esc(_first_sentence(str(t.resource.get("description", "")))),
        ]
        for t in package.tables.values()
    ]
    total = sum(counts[t.name] for t in package.tables.values())
    table = html_table(["table", "rows", "what a row is"], rows, "counts")
    return table.replace('class="counts"', 'class="counts" id="row-counts"', 1) + (
        f"<p>{total} rows in {len(package.tables)} tables.</p>"
    )


def _sources(package: Package) -> str:
    sources = [s for s in package.descriptor.get("sources", []) if isinstance(s, dict)]
    if not sources:
        return "<p>The package names no sources.</p>"
    rows = [
        [
            esc(s.get("title") or s.get("path", "")),
            esc(human_bytes(s.get("bytes"))),
            f"<code>{esc(s.get('sha256', ''))}</code>",
        ]
        for s in sources
    ]
    return "<p>The raw page dumps the package was built from, with their SHA-256 checksums.</p>" + (
        html_table(["file", "size", "SHA-256"], rows, "sources")
    )


def citation(package: Package) -> str:
    """The package's own citation when it has one, else one made from its metadata."""
    meta = package.descriptor
    if meta.get("citation"):
        return str(meta["citation"])
    name = str(meta.get("name") or "Dataset")
    created = str(meta.get("created") or "")
    text = f"{name} ({created[:4]}). " if created else f"{name}. "
    text += f"{meta.get('title') or name} (version {package.version}) [Data set]."
    if meta.get("homepage"):
        text += f" {meta['homepage']}"
    return text


def table(package: Package, current: Table, count: int) -> str:
    """The page of a table of `count` rows: its keys, its fields and its first rows."""
    resource = current.resource
    body = [
        f"<h1>{esc(resource.get('title') or current.name)} <code>{esc(current.name)}</code></h1>",
        f'<p class="lead">{esc(resource.get("description", ""))}</p>',
        f"<p><strong>{count}</strong> rows · "
        f"{link('data/' + current.csv_path.name, 'download ' + current.csv_path.name)}</p>",
        _keys(package, current),
        "<h2>Fields</h2>",
        _fields(current),
        f"<h2>First rows</h2><p>The first {len(current.first_rows)} of "
        f"{count} rows; long values are cut here, whole in the CSV.</p>",
        data_table(current.header, current.first_rows, "data preview"),
    ]
    return _page(package, current.name, table_page(current.name), "\n".join(body))


def _keys(package: Package, current: Table) -> str:
    schema = current.resource.get("schema", {})
    primary = schema.get("primaryKey") or []
    primary = [primary] if isinstance(primary, str) else primary
    items = (
        [f"<li>Primary key: {', '.join(f'<code>{esc(k)}</code>' for k in primary)}</li>"]
        if primary
        else []
    )
    for foreign in schema.get("foreignKeys") or []:
        ref = foreign.get("reference", {})
        own, theirs = foreign.get("fields", []), ref.get("fields", [])
        own, theirs = (
            ([own] if isinstance(own, str) else own),
            ([theirs] if isinstance(theirs, str) else theirs),
        )
        target = ref.get("resource") or current.name  # "" means the table itself
        shown = link(table_page(target), target) if target in package.tables else esc(target)
        items.append(
            f"<li>Foreign key: {', '.join(f'<code>{esc(k)}</code>' for k in own)} → "
            f"{shown} ({', '.join(f'<code>{esc(k)}</code>' for k in theirs)})</li>"
        )
    for other in package.tables.values():
        for foreign in other.resource.get("schema", {}).get("foreignKeys") or []:
            if (
                foreign.get("reference", {}).get("resource") == current.name
                and other is not current
            ):
                items.append(f"<li>Referenced by {link(table_page(other.name), other.name)}</li>")
                break
    return '<h2>Keys</h2><ul class="keys">' + "".join(items) + "</ul>" if items else ""


def _fields(current: Table) -> str:
    rows = []
    for field in current.fields:
        name = esc(field.get("name", ""))
        rows.append(
            [
                f'<code id="field-{name}">{name}</code>',
                esc(field.get("type", "any")),
                constraints_text(field.get("constraints") or {}),
                esc(field.get("description", "")),
            ]
        )
    return html_table(["field", "type", "constraints", "description"], rows, "dictionary")


def constraints_text(constraints: dict) -> str:
    parts = []
    for key, value in constraints.items():
        if key == "enum":
            parts.append("one of " + ", ".join(f"<code>{esc(v)}</code>" for v in value))
        elif value is True:
            parts.append(esc(key))
        else:
            parts.append(f"{esc(key)} <code>{esc(value)}</code>")
    return "<br>".join(parts)


def examples(package: Package, results: list[ExampleResult]) -> str:
    body = [
        "<h1>Example queries</h1>",
        '<p class="lead">The queries of the README\'s “Querying with DuckDB” section, with their '
        "results on this version of the data. Run them yourself with "
        '<code>newspack query "SQL"</code> or in DuckDB on <code>newspack.duckdb</code>.</p>',
    ]
    if not results:
        body.append("<p>The package's README has no example queries.</p>")
    for number, example in enumerate(results, 1):
        body.append(f'<section class="example" id="example-{number}">')
        body.append(f"<h2>{number}. {markdown_inline(example.intro)}</h2>")
        for result in example.results:
            shown = result.rows
            note = f"{result.count} rows" + (
                f", the first {len(shown)} shown" if len(shown) < result.count else ""
            )
            body.append(f'<pre class="sql"><code>{esc(result.sql)}</code></pre>')
            body.append(f'<p class="rows">{note}</p>')
            body.append(data_table(result.columns, shown, "data result"))
        body.append("</section>")
    return _page(package, "Example queries", "examples.html", "\n".join(body))


def sql(package: Package, head: str, body: str, footer: str) -> str:
    """The SQL page (its head, body and footer made by sql.py)."""
    return _page(package, "SQL", "sql.html", body, head=head, footer=footer)


def changelog(package: Package) -> str:
    text = package.changelog or "# Changelog\n\nThe package has no CHANGELOG.md."
    return _page(
        package, "Changelog", "changelog.html", f'<div class="prose">{markdown(text)}</div>'
    )


def downloads(package: Package) -> str:
    # Newest first, as the changelog; the index lists them oldest first.
    releases = sorted(package.releases, key=lambda r: str(r.get("created", "")), reverse=True)
    releases = sorted(releases, key=lambda r: _version_key(r.get("version")), reverse=True)
    rows = [
        [
            f"<strong>{esc(r.get('version', ''))}</strong>",
            esc(r.get("created", "")),
            f"{esc(human_bytes(r.get('bytes')))}<br>"
            f'<span class="muted">{esc(r.get("bytes", ""))} bytes</span>',
            f"<code>{esc(r.get('sha256', ''))}</code>",
            external_link(r.get("url"), _file_name(r.get("url"))),
        ]
        for r in releases
        if isinstance(r, dict)
    ]
    body = [
        "<h1>Downloads</h1>",
        '<p class="lead">Every release of the data: a zip with the CSVs, the descriptor and '
        "the DuckDB file. Check a download with <code>sha256sum</code>, or let "
        "<code>newspack fetch VERSION</code> download and check it.</p>",
        html_table(["version", "data as of", "size", "SHA-256", "file"], rows, "releases")
        if rows
        else "<p>No release has been published yet.</p>",
        "<h2>This version's files</h2>",
        "<p>The files this site was made from: "
        + link("datapackage.json", "datapackage.json")
        + ", "
        + ", ".join(
            link("data/" + t.csv_path.name, t.csv_path.name) for t in package.tables.values()
        )
        + ".</p>",
    ]
    return _page(package, "Downloads", "downloads.html", "\n".join(body))


def _version_key(version: object) -> tuple:
    parts = str(version or "").split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _file_name(url: object) -> str:
    return str(url or "").rstrip("/").rsplit("/", 1)[-1] or "download"
