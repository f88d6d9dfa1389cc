"""After the build (the dataset site): HTML building blocks shared by every page.

The package's text is untrusted (a scraped title can hold `<script>`), so every value goes
through `esc` before it reaches a page, and markdown is rendered with raw HTML turned off.
Pages are plain HTML with one local stylesheet: no script (but on the SQL page, whose script
is the site's own), no font or file from elsewhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence

from markdown_it import MarkdownIt

STYLESHEET = "style.css"
FAVICON = "favicon.svg"  # shipped, so that browsers do not ask the server for a missing one
CELL_CHARS = 160  # longer cells (article paragraphs) are cut in previews, in full in the CSV
NAV = [
    ("index.html", "Overview"),
    ("examples.html", "Example queries"),
    ("sql.html", "SQL"),
    ("changelog.html", "Changelog"),
    ("downloads.html", "Downloads"),
]
# CommonMark with tables; raw HTML in the markdown is shown as text, never passed through.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def markdown(text: str) -> str:
    return _MARKDOWN.render(text)


def markdown_inline(text: str) -> str:
    return _MARKDOWN.renderInline(text)


def slug(text: str) -> str:
    """A heading's anchor as GitHub makes it (so links written for GitHub work on the site)."""
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def guide(text: str, href: Callable[[str], str | None]) -> str:
    """A markdown guide (README.md, docs/*.md) as HTML: raw HTML shown as text, headings with
    GitHub's anchors, and each relative link given to `href`, which returns the link to use
    (None: the text without a link)."""
    tokens = _MARKDOWN.parse(text)
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            anchor = slug(tokens[index + 1].content)
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            token.attrSet("id", f"{anchor}-{count}" if count else anchor)
        unlinked = False
        for child in token.children or []:
            if child.type == "link_open":
                target = str(child.attrGet("href") or "")
                if not re.match(r"[a-z][a-z0-9+.-]*:|#", target, re.I):
                    new = href(target)
                    if new is None:  # a span in its place, up to its link_close
                        child.type, child.tag, child.attrs, unlinked = "span_open", "span", {}, True
                    else:
                        child.attrSet("href", new)
            elif child.type == "link_close" and unlinked:
                child.type, child.tag, unlinked = "span_close", "span", False
    return _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})


def table_page(name: str) -> str:
    """File name of a table's page (names are checked to be safe when the package is read)."""
    return f"table-{name}.html"


def link(href: str, text: str, css_class: str | None = None) -> str:
    attribute = f' class="{esc(css_class)}"' if css_class else ""
    return f'<a href="{esc(href)}"{attribute}>{esc(text)}</a>'


def external_link(url: object, text: str | None = None) -> str:
    """A link only for http(s) URLs: a `javascript:` URL from the data is shown as text."""
    url = str(url or "")
    if url.startswith(("https://", "http://")):
        return link(url, text or url)
    return esc(text or url)


def cell(value: str | None, cut: bool = True) -> str:
    if value is None:
        return '<td class="null">NULL</td>'
    if cut and len(value) > CELL_CHARS:
        return f'<td title="{esc(value)}">{esc(value[: CELL_CHARS - 1])}…</td>'
    return f"<td>{esc(value)}</td>"


def data_table(
    columns: Sequence[str], rows: Iterable[Sequence[str | None]], css_class: str = "data"
) -> str:
    """A table of values (escaped; long ones cut), scrolling sideways when wide."""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in columns)
    body = "\n".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table class="{esc(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def html_table(columns: Sequence[str], rows: Iterable[Sequence[str]], css_class: str) -> str:
    """A table whose cells are already HTML (built with `esc` and `link`)."""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table class="{esc(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def _nav_link(href: str, text: str, current: str) -> str:
    marker = ' aria-current="page"' if href == current else ""
    return f'<a href="{esc(href)}"{marker}>{esc(text)}</a>'


FOOTER = "Works offline: no scripts, no external files."


def page(
    title: str,
    site_title: str,
    version: str,
    current: str,
    tables: list[str],
    body: str,
    head: str = "",
    footer: str = FOOTER,
    guides: Sequence[tuple[str, str]] = (),
) -> str:
    """A whole page: head (with `head`, HTML), navigation (pages, then tables, then the
    guides: (file, title) pairs), the body, a footer (`footer`, HTML)."""
    nav = " ".join(_nav_link(href, text, current) for href, text in NAV)
    table_links = " ".join(_nav_link(table_page(name), name, current) for name in tables)
    guide_links = " ".join(_nav_link(href, text, current) for href, text in guides)
    guide_nav = (
        f'\n<nav aria-label="Guides" class="tables"><span>Guides:</span> {guide_links}</nav>'
        if guides
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {esc(site_title)}</title>
<link rel="stylesheet" href="{STYLESHEET}">
<link rel="icon" href="{FAVICON}" type="image/svg+xml">
{head}</head>
<body>
<header class="site">
<div class="wrap">
<p class="brand"><a href="index.html">{esc(site_title)}</a>
<span class="version">v{esc(version)}</span></p>
<nav aria-label="Pages">{nav}</nav>
<nav aria-label="Tables" class="tables"><span>Tables:</span> {table_links}</nav>{guide_nav}
</div>
</header>
<main class="wrap">
{body}
</main>
<footer class="wrap">Made by newspack from the data package, version {esc(version)}.
{footer}</footer>
</body>
</html>
"""
