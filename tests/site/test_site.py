"""The dataset site (stage 8), built from the committed package: every page and chart is
there and drawn from the real rows, links resolve, two builds give the same bytes, hostile
text is escaped, a user's folder is never replaced, and a real browser (headless Chromium)
shows every page without an error and runs the README's queries on the SQL page with the
results DuckDB gives in Python."""

from __future__ import annotations

import csv
import functools
import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

import newspack.site
from newspack.cli import app
from newspack.config import OWNER_MARKER_NAME
from newspack.releases import sandbox
from newspack.site import build_site
from newspack.site.database import package_database
from newspack.site.engine import EngineUnavailable, prepare_engine
from newspack.site.examples import RESULT_ROWS, QueryResult, as_text, run_examples
from newspack.site.package import read_package
from packages import copy_package

REPO = Path(__file__).resolve().parents[2]
MARKER = ".newspack-owner"  # newspack's ownership marker: random by design, not site content
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
runner = CliRunner()


def _required(reason: str):
    """A skip where the browser or the engine may be missing; a failure in CI."""
    if os.environ.get("NEWSPACK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"NEWSPACK_REQUIRE_BROWSER=1: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine():
    """The SQL page's engine bundle (installed with npm into the cache once), or None."""
    try:
        return prepare_engine()
    except EngineUnavailable as error:
        return str(error)


@pytest.fixture(scope="module")
def site(tmp_path_factory, engine) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(REPO, out, None if isinstance(engine, str) else engine)
    return out


def _engine_or_skip(engine):
    if isinstance(engine, str):
        _required(f"the SQL engine is not available: {engine}")
    return engine


def csv_rows(table: str, package: Path = REPO) -> list[dict[str, str]]:
    with (package / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def table_names(package: Path = REPO) -> list[str]:
    import json

    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    return [resource["name"] for resource in descriptor["resources"]]


class Page(HTMLParser):
    """The links, ids, images and table cells of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.images: list[dict] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[key] for key in ("href", "src") if key in attrs]
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            if self._table:
                self.tables[self._table] = []
        if tag == "tr" and self._table:
            self.tables[self._table].append([])
        if tag == "td" and self._table:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None


def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def test_every_page_is_built(site):
    expected = {"index.html", "examples.html", "sql.html", "changelog.html", "downloads.html"}
    expected |= {f"table-{name}.html" for name in table_names()}
    expected |= {"readme.html"} | {f"guide-{p.stem}.html" for p in (REPO / "docs").glob("*.md")}
    assert {p.name for p in site.glob("*.html")} == expected
    for name in expected:
        assert "</html>" in (site / name).read_text(encoding="utf-8")


def test_overview_counts_equal_the_csv_row_counts(site):
    rows = parse(site / "index.html").tables["row-counts"]
    shown = {row[0]: int(row[1]) for row in rows if row}
    assert shown == {name: len(csv_rows(name)) for name in table_names()}


def test_every_internal_link_resolves(site):
    checked = 0
    for page_path in sorted(site.rglob("*.html")):
        for target in parse(page_path).links:
            parts = urlsplit(target)
            if parts.scheme in ("http", "https"):
                continue  # release downloads and the licence: outside the site by design
            assert not parts.scheme, f"{page_path.name}: {target} is not a site file"
            file = (page_path.parent / unquote(parts.path)).resolve() if parts.path else page_path
            assert file.is_file() and file.is_relative_to(site), f"{page_path.name}: {target}"
            if parts.fragment:
                assert parts.fragment in parse(file).ids, f"{page_path.name}: {target}"
            checked += 1
    assert checked > 50


def _marks(svg: Path) -> dict[str, ET.Element]:
    root = ET.parse(svg).getroot()
    assert float(root.get("width").removesuffix("pt")) > 0
    assert float(root.get("height").removesuffix("pt")) > 0
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("mark-")}


def test_every_chart_is_drawn_from_the_data(site):
    charts = site / "charts"
    entities, figures = csv_rows("entities"), csv_rows("figures")
    days = {r["updated_at"][:10] for r in csv_rows("article_versions") if r["updated_at"]}
    updates = _marks(charts / "updates-per-day.svg")
    # One bar for the articles and one for the versions of every update day.
    assert len(updates) == 2 * len(days) > 0
    # Bars for the most mentioned entities of the four most mentioned types (six at most).
    by_type: dict[str, int] = {}
    for row in entities:
        by_type[row["entity_type"]] = by_type.get(row["entity_type"], 0) + 1
    totals = {
        t: sum(int(r["mention_count"]) for r in entities if r["entity_type"] == t) for t in by_type
    }
    top = sorted(totals, key=lambda t: (-totals[t], t))[:4]
    assert len(_marks(charts / "entities-by-type.svg")) == sum(min(6, by_type[t]) for t in top)
    # A bar per kind and unit, units seen once pooled per kind.
    kinds = {r["figure_kind"] for r in figures}
    pairs = {(r["figure_kind"], r["unit"]) for r in figures}
    assert len(kinds) <= len(_marks(charts / "figures-by-kind.svg")) <= len(pairs)
    # One point per entity with coordinates on the map.
    places = _marks(charts / "places-map.svg")["mark-places-all"]
    located = [r for r in entities if r["latitude"] and r["longitude"]]
    points = [e for e in places.iter() if e.tag in (f"{SVG}path", f"{SVG}use")]
    assert len(points) == len(located) > 0


def _example_statements() -> list[str]:
    """The SQL of the README's query section, then the others of docs/using-the-data.md's."""
    statements: list[str] = []
    for guide in (REPO / "README.md", REPO / "docs" / "using-the-data.md"):
        text = guide.read_text(encoding="utf-8")
        section = text.split("## Querying with DuckDB", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
        found = [s.strip() for b in blocks for s in re.split(r";\s*(?:\n|$)", b) if s.strip()]
        statements += [s for s in found if s not in statements]
    return statements


def test_examples_show_every_readme_query_with_its_result(site):
    statements = _example_statements()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(s in readme for s in statements[:3])  # the README's own come first
    page = (site / "examples.html").read_text(encoding="utf-8")
    from html import escape

    for sql in statements:
        assert f"<code>{escape(sql)}</code>" in page
    notes = re.findall(r'<p class="rows">(\d+) rows', page)
    assert len(notes) == len(statements)
    # The latest-articles query lists every article: its count is the CSV's.
    first = statements.index(
        next(
            s for s in statements if re.fullmatch(r"SELECT [^;]*\nFROM articles\nORDER BY [^;]*", s)
        )
    )
    assert int(notes[first]) == len(csv_rows("articles"))


def test_table_pages_link_their_foreign_keys(site):
    page = (site / "table-mentions.html").read_text(encoding="utf-8")
    assert 'href="table-entities.html"' in page and 'href="table-article_versions.html"' in page
    preview = parse(site / "table-entities.html")
    assert any(link == "data/entities.csv" for link in preview.links)


def test_two_builds_are_byte_identical(site, engine, tmp_path):
    again = tmp_path / "again"
    build_site(REPO, again, None if isinstance(engine, str) else engine)

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MARKER
        }

    first, second = files(site), files(again)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def _package_copy(tmp_path: Path) -> Path:
    return copy_package(tmp_path)


def _rewrite_first_row(path: Path, **values: str) -> None:
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    rows[0].update(values)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_hostile_text_is_escaped(tmp_path):
    import json

    package = _package_copy(tmp_path)
    script = '<script>alert("title")</script>'
    _rewrite_first_row(package / "data" / "articles.csv", title=script)
    _rewrite_first_row(package / "data" / "entities.csv", name="<img src=x onerror=alert(1)>")
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["description"] = "<script>alert('description')</script>"
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with (package / "CHANGELOG.md").open("a", encoding="utf-8") as stream:
        stream.write("\n<script>alert('changelog')</script>\n\n[click](javascript:alert(1))\n")
    releases = json.loads((package / "releases.json").read_text(encoding="utf-8"))
    releases["releases"][0]["url"] = "javascript:alert('release')"
    (package / "releases.json").write_text(json.dumps(releases), encoding="utf-8")
    (package / "docs").mkdir()
    (package / "docs" / "releases.md").write_text(
        "# Releases <script>alert('heading')</script>\n\n<script>alert('guide')</script>\n\n"
        "[a](javascript:alert(1)) [b](<javascript:alert(2)>) [c](../../etc/passwd)\n",
        encoding="utf-8",
    )

    site = tmp_path / "site"
    build_site(package, site)
    pages = {p.name: p.read_text(encoding="utf-8") for p in site.glob("*.html")}
    for name, text in pages.items():
        assert "<script" not in text.lower(), name
        assert "<img src=x" not in text and 'href="javascript:' not in text.lower(), name
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in pages["table-articles.html"]
    assert "&lt;script&gt;" in pages["index.html"] and "&lt;script&gt;" in pages["changelog.html"]
    assert "<p>&lt;script&gt;alert('guide')&lt;/script&gt;</p>" in pages["guide-releases.html"]
    assert "etc/passwd" not in pages["guide-releases.html"]  # a link out of the repository


def test_guides_are_pages_with_working_links(site):
    """README.md and docs/*.md are pages of the site: a guide's link to another is a link to
    its page (anchors as GitHub makes them), to any other file of the repository a link to it
    on the home page; every internal one resolves (test_every_internal_link_resolves)."""
    readme = parse(site / "readme.html")
    assert "set-up-two-commands" in readme.ids
    guides = [link for link in readme.links if link.startswith("guide-")]
    assert guides, "the README links to no guide page"
    assert "changelog.html" in readme.links
    assert not [link for link in readme.links if ".md" in link and "://" not in link]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'aria-label="Guides"' in index and 'href="readme.html"' in index


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_users_folder_is_refused_and_left_untouched(tmp_path):
    user = tmp_path / "my-notes"
    user.mkdir()
    (user / "thesis.txt").write_text("years of work", encoding="utf-8")
    before = _snapshot(user)
    result = runner.invoke(app, ["site", "--package", str(REPO), "--out", str(user)])
    assert result.exit_code == 1
    assert "did not create" in result.output and "Traceback" not in result.output
    assert _snapshot(user) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-notes"]  # no staging left
    file_out = tmp_path / "my-notes" / "thesis.txt"
    result = runner.invoke(app, ["site", "--package", str(REPO), "--out", str(file_out)])
    assert result.exit_code == 1 and _snapshot(user) == before


def test_a_previous_site_is_replaced(site, tmp_path):
    out = tmp_path / "site"
    shutil.copytree(site, out)  # with its owner marker: a site newspack built
    (out / "stale.html").write_text("from an older build", encoding="utf-8")
    result = runner.invoke(app, ["site", "--package", str(REPO), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_failed_build_leaves_the_previous_site(site, tmp_path, monkeypatch):
    out = tmp_path / "site"
    shutil.copytree(site, out)
    before = _snapshot(out)

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    # Fails while the new site is being written, after the pages are made.
    monkeypatch.setattr(newspack.site.shutil, "copyfile", disk_full)
    with pytest.raises(OSError):
        build_site(REPO, out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_args):  # the test reports failures itself
        pass


def _browser():
    """Playwright's sync API and the Chromium to drive, or a skip (a failure in CI)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium and sync_playwright:
        return sync_playwright, chromium
    _required("the browser test needs Debian's chromium and the playwright package")


@pytest.fixture
def served(site):
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_every_page_renders_in_a_real_browser(site, served, tmp_path):
    sync_playwright, chromium = _browser()
    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            _watch(context, page, served, problems)
            for html in sorted(site.glob("*.html")):
                if html.name == "sql.html":
                    continue  # its engine loads after the page: test_the_sql_page waits for it
                page.goto(served + html.name, wait_until="load")
                _check_images(page, html.name, problems)
            page.goto(served + "index.html", wait_until="load")
            shot = _screenshot(page, tmp_path)
        finally:
            context.close()
    assert problems == []
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000


def _watch(context, page, served: str, problems: list[str]) -> None:
    def offline_only(route):
        if route.request.url.startswith(served):
            route.continue_()
        else:  # the site must need nothing from elsewhere
            problems.append(f"request outside the site: {route.request.url}")
            route.abort()

    context.route("**/*", offline_only)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: _failed(r, problems))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))


def _failed(request, problems: list[str]) -> None:
    # Chromium fetches the icon after the page's load event, and cancels that fetch when the
    # test moves to the next page: not a fault of the site (a missing icon is a 404, caught
    # by the response check, and the link test checks the file is there).
    cancelled_icon = request.url.endswith("/favicon.svg") and request.failure == "net::ERR_ABORTED"
    if not cancelled_icon:
        problems.append(f"failed: {request.url} {request.failure}")


def _check_images(page, name: str, problems: list[str]) -> None:
    images = page.evaluate(
        """() => [...document.querySelectorAll('img, svg')].map(e => {
            const box = e.getBoundingClientRect();
            return [e.getAttribute('src') || 'inline svg', e.complete !== false,
                    e.naturalWidth ?? box.width, box.width, box.height];
        })"""
    )
    if name == "index.html" and len(images) < 4:
        problems.append(f"{name}: {len(images)} charts, expected 4")
    for src, complete, natural, width, height in images:
        if not (complete and natural > 0 and width > 0 and height > 0):
            problems.append(f"{name}: {src} not shown ({natural=}, {width}x{height})")


def _screenshot(page, tmp_path: Path) -> Path:
    shot = tmp_path / "site-front-page.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("NEWSPACK_SCREENSHOT_DIR"):
        folder = Path(os.environ["NEWSPACK_SCREENSHOT_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, folder / shot.name)
    return shot


# --- the SQL page --------------------------------------------------------------------------

RUN_ALL = """async (statements) => {
    await window.newspackSQL.ready();
    const out = [];
    for (const sql of statements) out.push(await window.newspackSQL.run(sql));
    return out;
}"""


def _cells(rows: list[list[str | None]]) -> list[tuple]:
    """Rows to compare across engines: numbers as numbers (1500000.0 is 1500000), in order."""

    def cell(value):
        try:
            return (0, float(value), "")
        except (TypeError, ValueError):
            return (1, 0.0, value) if value is not None else (2, 0.0, "")

    return sorted(tuple(cell(v) for v in row) for row in rows)


def _whole_results(package) -> list[QueryResult]:
    """Every README statement's whole result, as the examples page would show its rows."""
    with package_database(package) as con:
        return [
            QueryResult(sql, columns, [[as_text(v) for v in row] for row in rows], len(rows))
            for example in package.examples
            for sql in example.statements
            for columns, rows in [sandbox.run(con, sql)]
        ]


def test_example_results_keep_their_first_rows_and_count_the_rest():
    package = read_package(REPO)
    whole = _whole_results(package)
    kept = [r for example in run_examples(package) for r in example.results]
    assert any(r.count > RESULT_ROWS for r in whole)  # the cut is exercised
    for full, cut in zip(whole, kept, strict=True):
        assert (cut.sql, cut.columns, cut.count) == (full.sql, full.columns, len(full.rows))
        assert cut.rows == full.rows[:RESULT_ROWS]


def test_the_sql_page_runs_the_readme_queries_as_duckdb_does(site, engine, served, tmp_path):
    """One page load: every README query in the browser, against DuckDB in Python on the same
    package; a syntax error is a message, not a console error; the row limit holds; the CSV
    download is the result; nothing is requested from elsewhere."""
    _engine_or_skip(engine)
    sync_playwright, chromium = _browser()
    expected = _whole_results(read_package(REPO))
    assert [r.sql for r in expected] == _example_statements()
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            _watch(context, page, served, problems)
            page.goto(served + "sql.html", wait_until="load")
            page.wait_for_selector("#sql-status.ready, #sql-status.failed", timeout=60_000)
            status = page.inner_text("#sql-status")
            ready = f"Ready: {len(table_names())} tables"  # every table of the package
            assert status.startswith(ready) and "SHA-256 checked" in status, status
            results = page.evaluate(RUN_ALL, [r.sql for r in expected])
            for want, got in zip(expected, results, strict=True):
                assert got["error"] is None, f"{want.sql}\n{got['error']}"
                assert got["columns"] == want.columns, want.sql
                assert _cells(got["rows"]) == _cells(want.rows), want.sql

            # The editor holds the first example; Run shows it as a table.
            assert page.input_value("#sql-editor") == expected[0].sql
            page.click("#sql-run")
            page.wait_for_selector("#sql-result-table")
            shown = page.locator("#sql-result-table tbody tr").count()
            assert shown == len(expected[0].rows) > 0
            with page.expect_download() as download:
                page.click("#sql-csv")
            with open(download.value.path(), encoding="utf-8", newline="") as stream:
                csv_rows_ = list(csv.reader(stream))
            assert csv_rows_[0] == expected[0].columns
            assert _cells(csv_rows_[1:]) == _cells(
                [[v if v is not None else "" for v in row] for row in expected[0].rows]
            )

            # A syntax error: its message on the page, no console error, no result left.
            page.fill("#sql-editor", "SELEC title FROM articles")
            page.click("#sql-run")
            page.wait_for_selector("#sql-error:not([hidden])")
            assert "syntax error" in page.inner_text("#sql-error")
            assert page.locator("#sql-result-table").count() == 0

            # A careless query stops at the page's row limit; files and URLs are refused.
            page.fill("#sql-editor", "SELECT * FROM range(100000000)")
            page.click("#sql-run")
            page.wait_for_selector("#sql-result-table")
            assert "Stopped after 10000 rows" in page.inner_text("#sql-note")
            refused = page.evaluate(
                RUN_ALL,
                [
                    "SELECT * FROM read_csv('data/articles.csv')",
                    "SELECT * FROM 'https://example.org/x.csv'",
                    "LOAD httpfs",
                    "SET enable_external_access = true",
                ],
            )
            assert all(r["error"] for r in refused), refused
        finally:
            browser.close()
    assert problems == []


def test_the_sql_page_from_a_file_says_to_serve_it(site, engine):
    _engine_or_skip(engine)
    page = (site / "sql.html").read_text(encoding="utf-8")
    status = re.search(r'<p class="status" id="sql-status"[^>]*>(.*?)</p>', page, re.S)
    assert status and "served over http" in status.group(1)
    assert "python3 -m http.server" in status.group(1)
    # The page loads nothing but the site's own files.
    from html import unescape

    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert "default-src 'none'" in unescape(policy.group(1))
    assert "connect-src 'self'" in unescape(policy.group(1))


def test_the_sql_page_checksums_are_the_files(site, engine):
    import hashlib
    import json

    import duckdb

    _engine_or_skip(engine)
    page = (site / "sql.html").read_text(encoding="utf-8")
    setup = re.search(r'<script type="application/json" id="sql-setup">(.*?)</script>', page)
    files = json.loads(setup.group(1))["tables"]
    assert [f["name"] for f in files] == table_names()
    for entry in files:
        data = (site / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert f"<code>{entry['sha256']}</code>" in page  # shown to the reader too
        count = duckdb.sql(f"SELECT count(*) FROM '{site / entry['file']}'").fetchall()[0][0]
        assert count == len(csv_rows(entry["name"]))


def test_without_an_engine_the_sql_page_says_so(tmp_path):
    out = tmp_path / "site"
    empty, cache = tmp_path / "bin", tmp_path / "cache"
    empty.mkdir()
    result = runner.invoke(
        app,
        ["site", "--package", str(REPO), "--out", str(out), "--engine-cache", str(cache)],
        env={"PATH": str(empty), "COLUMNS": "1000"},
    )
    assert result.exit_code == 0, result.output
    assert "npm is not installed" in result.output
    page = (out / "sql.html").read_text(encoding="utf-8")
    assert page.count("was not bundled") == 1 and "npm is not installed" in page
    assert "<script" not in page and not (out / "vendor").exists()
    assert (out / "index.html").is_file() and (out / "parquet" / "articles.parquet").is_file()


def test_hostile_examples_cannot_leave_the_sql_pages_data_block(engine, tmp_path):
    _engine_or_skip(engine)
    package = _package_copy(tmp_path)
    readme = package / "README.md"
    hostile = (
        "\nA </script><script>alert(1)</script> example:\n\n```sql\nSELECT '</script>';\n```\n"
    )
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("\nViews: `article_text`", hostile + "\nViews:", 1))
    build_site(package, tmp_path / "site", engine)
    page = (tmp_path / "site" / "sql.html").read_text(encoding="utf-8")
    assert page.lower().count("<script") == 2  # the data block and sql.js, nothing else
    assert page.lower().count("</script>") == 2


# --- streaming: no table is read whole -------------------------------------------------------


def _site_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MARKER
    }


def test_a_tiny_chunk_loads_every_row_and_gives_the_same_site(site, engine, tmp_path):
    import pyarrow.parquet as pq

    tiny = 7
    assert max(len(csv_rows(name)) for name in table_names()) > 10 * tiny
    out = tmp_path / "tiny"
    build_site(REPO, out, None if isinstance(engine, str) else engine, chunk_rows=tiny)
    first, second = _site_files(site), _site_files(out)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    for name in table_names():  # every row of every chunk, in the CSV's order
        rows, key = csv_rows(name), next(iter(csv_rows(name)[0])) if csv_rows(name) else None
        table = pq.read_table(out / "parquet" / f"{name}.parquet")
        assert table.num_rows == len(rows), name
        if key:
            assert table.column(key).to_pylist() == [r[key] or None for r in rows], name


def test_parquet_row_groups_hold_every_row_in_order(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(newspack.site.sql, "ROW_GROUP_ROWS", 50)
    build_site(REPO, tmp_path / "site")
    mentions = csv_rows("mentions")
    parquet = pq.ParquetFile(tmp_path / "site" / "parquet" / "mentions.parquet")
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    assert sizes == [50] * (len(mentions) // 50) + [len(mentions) % 50]
    got = parquet.read().select(["article_id", "start"]).to_pylist()
    assert got == [{"article_id": r["article_id"], "start": int(r["start"])} for r in mentions]


def _spoil_row(path: Path, number: int, spoil) -> None:
    """Row `number` (after the header) of a CSV replaced by spoil(its bytes)."""
    lines = path.read_bytes().split(b"\n")
    assert len(lines) > number + 1
    lines[number + 1] = spoil(lines[number + 1])
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda line: line + b",one too many", "a row whose fields do not match the header"),
        (lambda line: line.split(b",", 1)[0], "a row whose fields do not match the header"),
        (lambda line: line.replace(b",", b"\xff,", 1), "cannot be read"),
        (lambda line: b'"unterminated,' + line, "a row whose fields do not match the header"),
    ],
    ids=["extra field", "missing fields", "not UTF-8", "open quote"],
)
def test_a_bad_row_in_a_later_chunk_is_refused_and_the_scratch_database_removed(
    tmp_path, spoil, reason
):
    package = copy_package(tmp_path)
    _spoil_row(package / "data" / "line_ledger.csv", 300, spoil)
    out = tmp_path / "site"
    with pytest.raises(newspack.site.SiteError, match=reason) as error:
        build_site(package, out, chunk_rows=7)
    assert "line_ledger.csv" in str(error.value)
    assert not out.exists() and not list(tmp_path.glob(".newspack-*"))


def test_a_value_not_of_its_type_in_a_later_chunk_names_the_file(tmp_path):
    package = copy_package(tmp_path)
    path = package / "data" / "mentions.csv"
    rows = csv_rows("mentions", package)
    rows[400]["start"] = "not a number"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(newspack.site.SiteError, match=r"mentions\.csv: Conversion Error"):
        build_site(package, tmp_path / "site", chunk_rows=7)
    assert not list(tmp_path.glob(".newspack-*"))


def test_the_scratch_database_is_beside_the_site_and_gone_after(tmp_path, monkeypatch):
    from newspack.site import database

    loaded: list[Path] = []
    load = database.load_database

    def watched(package, path, chunk_rows):
        loaded.append(path)
        load(package, path, chunk_rows)

    monkeypatch.setattr(database, "load_database", watched)
    out = tmp_path / "site"
    build_site(REPO, out)
    [path] = loaded
    assert path.parent.parent == tmp_path and path.parent.name.startswith(".newspack-site-db-")
    assert not path.parent.exists() and not list(tmp_path.glob(".newspack-site-*"))
    assert not any(p.suffix in (".duckdb", ".wal") for p in out.rglob("*"))


def test_the_chart_data_are_the_csvs_aggregates():
    from collections import Counter

    from newspack.site import charts
    from newspack.site.database import package_database

    articles, versions = csv_rows("articles"), csv_rows("article_versions")
    entities, figures = csv_rows("entities"), csv_rows("figures")
    with package_database(read_package(REPO)) as con:
        days = charts.updates_per_day(con)
        top = charts.top_entities_by_type(con)
        groups = charts.figures_by_kind_and_unit(con)
        places, focus = charts.resolved_places(con), charts.focus_places(con)
    per_day = [Counter(r["updated_at"][:10] for r in rows) for rows in (articles, versions)]
    assert days == {
        day: (per_day[0][day], per_day[1][day])
        for day in sorted((per_day[0].keys() | per_day[1].keys()) - {""})
    }
    for kind, ranked in top.items():
        counts = [
            (r["name"], int(r["mention_count"])) for r in entities if r["entity_type"] == kind
        ]
        assert ranked == sorted(counts, key=lambda item: (-item[1], item[0]))[:6]
    assert len(top) == min(4, len({r["entity_type"] for r in entities}))
    assert sum(count for _, _, count in groups) == len(figures)
    assert {kind for kind, _, _ in groups} == {r["figure_kind"] for r in figures}
    located = [r for r in entities if r["latitude"] and r["longitude"]]
    assert [(name, lon, lat) for name, lon, lat, _ in places] == [
        (r["name"], float(r["longitude"]), float(r["latitude"]))
        for r in sorted(located, key=lambda r: (-int(r["article_count"]), r["name"]))
    ]
    assert sum(n for *_, n in focus) <= len(csv_rows("article_focus")) and focus


def _abandoned(parent: Path, name: str, age: float = 3600) -> Path:
    """A scratch folder as a killed site build leaves it: newspack's, unlocked, old."""
    from newspack.package.ownership import make_owned_dir
    from newspack.site import database

    folder = make_owned_dir(parent / f"{database.SCRATCH_PREFIX}{name}", database.SCRATCH_KIND)
    (folder / database.DATABASE_NAME).write_bytes(b"partly loaded")
    marker = folder / OWNER_MARKER_NAME
    then = marker.stat().st_mtime - age
    os.utime(marker, (then, then))
    return folder


def test_a_killed_site_builds_scratch_folder_is_removed_by_the_next_build(tmp_path):
    from newspack.site import database

    killed = _abandoned(tmp_path, "killed")
    running = _abandoned(tmp_path, "running")
    just_made = _abandoned(tmp_path, "just-made", age=0)
    not_ours = tmp_path / f"{database.SCRATCH_PREFIX}not-ours"
    not_ours.mkdir()
    (not_ours / "notes.txt").write_text("a user's file")
    held = database._hold(running)  # another run, alive, holds its folder
    try:
        with package_database(read_package(REPO), tmp_path) as con:
            assert con.execute("SELECT count(*) FROM articles").fetchall()[0][0] > 0
            [ours] = set(tmp_path.glob(".newspack-site-db-*")) - {running, just_made, not_ours}
            assert database._hold(ours) is None  # this run holds its own folder
    finally:
        os.close(held)
    assert not killed.exists() and not ours.exists()
    assert running.exists() and just_made.exists()
    assert (not_ours / "notes.txt").read_text() == "a user's file"
    # Once its run has ended (the lock released), the folder is taken as abandoned.
    assert database.remove_abandoned(tmp_path) == [running]
