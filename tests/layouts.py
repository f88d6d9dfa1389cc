"""Test helper: real article text from dumps/, rendered in each header layout of format-notes.

The pieces are taken by line number from dump 002 (the Kazakhstan article, lines 1-43), so a
reader can check them against the dump; the renderers reproduce the layouts that
shared/format-notes.md lists for real dumps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DUMPS = Path(__file__).resolve().parents[1] / "dumps"
DUMP_002 = DUMPS / "002_9dd43f1324fd2e02.txt"


@dataclass(frozen=True)
class Article:
    title: str
    caption: str  # with its credit, as in the dump
    bullets: tuple[str, ...]
    paragraphs: tuple[str, ...]  # body paragraphs and headings, in order


def real_lines(path: Path = DUMP_002) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _article(title: int, caption: int | None, bullets: tuple[int, int], body: tuple[int, int]):
    """An article from dump 002, by 1-based line numbers (ranges inclusive)."""
    lines = real_lines()
    return Article(
        title=lines[title - 1].strip(),
        caption=lines[caption - 1].strip() if caption else "",
        bullets=tuple(
            x.strip().removeprefix("•").strip() for x in lines[bullets[0] - 1 : bullets[1]]
        ),
        paragraphs=tuple(x.strip() for x in lines[body[0] - 1 : body[1]] if x.strip()),
    )


def kazakhstan_article() -> Article:
    """Dump 002, lines 1-41: title line 1, caption line 3, bullets 10-11, body 13-41."""
    return _article(title=1, caption=3, bullets=(10, 11), body=(13, 41))


def munir_article() -> Article:
    """Dump 002, lines 44-102: title line 44, no caption, bullets 51-52, body 54-102."""
    return _article(title=44, caption=None, bullets=(51, 52), body=(54, 102))


def _bullets(article: Article, marker: str = "  • ") -> list[str]:
    return [marker + b for b in article.bullets]


def _body(article: Article, separator: list[str]) -> list[str]:
    out: list[str] = []
    for paragraph in article.paragraphs:
        out += [paragraph, *separator]
    return out[: len(out) - len(separator)] if separator else out


def render(article: Article, layout: str, updated: str = "Updated 09 September 2025") -> list[str]:
    """The article's lines in one of the layouts of format-notes.md (numbered as there)."""
    t = article.title
    c = [article.caption] if article.caption else []  # no caption line when there is none
    blank_body = ["", *_body(article, [""])]
    layouts = {
        # 1. Seed dump 000 style.
        "dump000": [
            t,
            "",
            t,
            *c,
            "Short Url",
            updated,
            "",
            t,
            "",
            t,
            *_bullets(article),
            *blank_body,
        ],
        # 2. Seed dump 002 style.
        "dump002": [
            t,
            "",
            *c,
            "Short Url",
            updated,
            "Follow",
            "",
            t,
            "",
            *_bullets(article),
            *blank_body,
        ],
        # 3. No lead caption.
        "no_caption": [
            t,
            "",
            "Short Url",
            updated,
            "Follow",
            "",
            t,
            "",
            *_bullets(article),
            *blank_body,
        ],
        # 4. No Short Url line and no bullets.
        "plain": [t, "", t, updated, "", t, "", t, *blank_body],
        # 5. Photo gallery: a title variant, counters and a caption per photo, before Updated.
        "gallery": [
            *[
                x
                for i in (1, 2, 3)
                for x in (f"Special: {t}", f"{i} / 3", f"{article.caption} {i}")
            ],
            updated,
            "",
            t,
            "",
            *_bullets(article),
            *blank_body,
        ],
        # 6. AMP: Short Url followed directly by the bullets.
        "amp": [t, "", "Short Url", *_bullets(article), *blank_body],
        # 7. Bare: a short link first, "- " bullets, no blank lines anywhere.
        "bare": [
            "https://arab.news/k7x2q",
            t,
            updated,
            *_bullets(article, "- "),
            *_body(article, []),
        ],
        # 10. Title lines with leading and trailing spaces that differ between repeats.
        "spaced_titles": [
            f" {t}",
            "",
            f"{t}  ",
            *c,
            "Short Url",
            updated,
            "",
            f"{t} ",
            "",
            t,
            *_bullets(article),
            *blank_body,
        ],
        # 11. A byline after the update time.
        "byline": [
            t,
            "",
            *c,
            "Short Url",
            updated,
            "Arab News",
            "Follow",
            "",
            t,
            "",
            *_bullets(article),
            *blank_body,
        ],
    }
    return layouts[layout]


# --- generated headers ------------------------------------------------------------------
# The header lines format-notes.md lists, by name; page() lays out any sequence of them
# between an article's title and its bullets (tests/ingest/test_header_combinations.py).
# "gallery:N" is a gallery of N photos: a title variant, a counter and a caption each.
UPDATED_LINE = "Updated 09 September 2025"
BYLINE_LINE = "Arab News"
UNKNOWN_CREDIT = "KSrelief"  # a photo source no agency list knows
MARKER_PARTS = ("short_url", "updated", "follow")
CAPTION_PARTS = ("caption", "caption_unknown_credit", "caption_uncredited", "caption_positional")


def caption_text(article: Article) -> str:
    """The article's caption without its credit ("(MOFA)")."""
    return article.caption.rsplit(" (", 1)[0]


def _positional_caption(article: Article) -> str:
    return f"{caption_text(article).removesuffix('.')} (R)."


def part_lines(article: Article, part: str) -> list[str]:
    """The lines of one header part of the article."""
    name, _, size = part.partition(":")
    if name == "gallery":
        n = int(size)
        return [
            line
            for i in range(1, n + 1)
            for line in (f"Special: {article.title}", f"{i} / {n}", f"Photo {i}: {article.caption}")
        ]
    return {
        "blank": [""],
        "title": [article.title],
        "spaced_title": [f" {article.title}  "],  # repeats may differ in spaces
        "caption": [article.caption],
        "caption_unknown_credit": [f"{caption_text(article)} ({UNKNOWN_CREDIT})"],
        "caption_uncredited": [caption_text(article)],
        "caption_positional": [_positional_caption(article)],  # ends in "(R).": no credit
        "short_url": ["Short Url"],
        "updated": [UPDATED_LINE],
        "byline": [BYLINE_LINE],
        "follow": ["Follow"],
    }[name]


def expected_photos(article: Article, parts: list[str]) -> list[tuple[str, str | None]]:
    """(caption, credit) of each photo the header parts show, in order."""
    text = caption_text(article)
    photos: list[tuple[str, str | None]] = []
    for part in parts:
        name, _, size = part.partition(":")
        if name == "gallery":
            photos += [(f"Photo {i}: {text}", "MOFA") for i in range(1, int(size) + 1)]
        elif name == "caption_positional":
            photos.append((_positional_caption(article), None))
        elif name in CAPTION_PARTS:
            credit = {"caption": "MOFA", "caption_unknown_credit": UNKNOWN_CREDIT}.get(name)
            photos.append((text, credit))
    return photos


def page(
    article: Article,
    parts: list[str],
    *,
    link: str | None = None,
    bullet: str | None = "  • ",
    blanks: bool = True,
) -> list[str]:
    """A page: [short link], title, the header parts, [bullets], then the body (paragraphs
    one blank line apart, or none with blanks=False as in the bare rendering)."""
    header = [*([link] if link else []), article.title]
    header += [line for part in parts for line in part_lines(article, part)]
    bullets = _bullets(article, bullet) if bullet else []
    body = ["", *_body(article, [""])] if blanks else _body(article, [])
    return [*header, *bullets, *body]


def dump_text(*blocks: list[str]) -> str:
    """Blocks joined as in a dump: two blank lines between articles, LF line ends."""
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines += ["", ""]
        lines += block
    return "\n".join(lines) + "\n"


def write_dump(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path
