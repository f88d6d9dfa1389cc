"""Benchmark (not a pipeline stage): build synthetic corpora and report speed and memory.

The corpus generator recombines the real dumps' articles (deterministic for a seed): each
synthetic article takes a real article block, gets a new title, its body paragraphs
shuffled (the dateline paragraph stays first) and another update time, and dumps hold six
articles each. For every size the build runs in a fresh process, which reports wall time,
articles/s, words/s, peak memory (RSS), and the time of a bare `nlp.pipe` over the same texts
with the same model: the floor the rest of the pipeline adds to.

    python -m newspack.bench 100 1000      # or: nox -s bench -- 100 1000
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newspack.config import DEFAULT_DUMPS_DIR
from newspack.read import read_dump
from newspack.split import Role, split_dump

ARTICLES_PER_DUMP = 6
DEFAULT_SIZES = (100, 1000)
UPDATED_CHOICES = (
    "Updated 20 sec ago",
    "Updated 3 min 55 sec ago",
    "Updated 16 min ago",
    "Updated 09 September 2025",
    "Updated 08 September 2025",
)


def _templates() -> list[tuple[list[tuple[str, Role]], list[str]]]:
    """(header lines with roles, body lines) of every real article block."""
    found = []
    for path in sorted(DEFAULT_DUMPS_DIR.glob("*.txt")):
        for block in split_dump(read_dump(path).lines).blocks:
            header = [(line.raw, role) for line, role in block.header]
            found.append((header, [line.raw for line in block.body]))
    return found


def _vary(template, number: int, rng: random.Random) -> list[str]:
    header, body = template
    title = next(text for text, role in header if role is Role.TITLE).strip()
    new_title = f"{title} ({number})"
    lines = []
    for text, role in header:
        if role in (Role.TITLE, Role.TITLE_REPEAT) and text.strip() == title:
            lines.append(new_title)
        elif role is Role.UPDATED:
            lines.append(rng.choice(UPDATED_CHOICES))
        else:
            lines.append(text)
    paragraphs = [line for line in body if line.strip()]
    rest = paragraphs[1:]
    rng.shuffle(rest)
    for paragraph in [paragraphs[0], *rest] if paragraphs else []:
        lines += ["", paragraph]
    return lines


def make_corpus(folder: Path, articles: int, seed: int = 0) -> list[Path]:
    """Write `articles` synthetic articles as NNN_<hash>.txt dumps into folder."""
    rng = random.Random(seed)
    templates = _templates()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for dump_number, first in enumerate(range(0, articles, ARTICLES_PER_DUMP)):
        blocks = [
            _vary(rng.choice(templates), n, rng)
            for n in range(first, min(first + ARTICLES_PER_DUMP, articles))
        ]
        text = "\n\n\n".join("\n".join(block) for block in blocks) + "\n"
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        path = folder / f"{dump_number:04d}_{digest}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def measure(dumps: Path, out: Path) -> dict:
    """Build once and time a bare nlp.pipe over the same texts (run in a fresh process)."""
    from newspack import pipeline
    from newspack.entities import load_model, sources

    started = time.perf_counter()
    report = pipeline.run(dumps, out)
    build_seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    texts = [s.text for s in sources(report.tables)]
    started = time.perf_counter()
    for _ in load_model().pipe(texts, batch_size=64):
        pass
    nlp_seconds = time.perf_counter() - started
    articles = len(report.tables["article_versions"])
    words = int(report.tables["article_versions"]["word_count"].sum())
    return {
        "articles": articles,
        "words": words,
        "build_s": round(build_seconds, 1),
        "nlp_pipe_s": round(nlp_seconds, 1),
        "peak_rss_mib": round(peak_mib),
        "articles_per_s": round(articles / build_seconds, 1),
        "words_per_s": round(words / build_seconds),
        "build_over_nlp": round(build_seconds / nlp_seconds, 2),
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measure"]:
        print(json.dumps(measure(Path(argv[1]), Path(argv[2]))))
        return
    sizes = [int(a) for a in argv] or list(DEFAULT_SIZES)
    print(
        "| articles | words | build s | articles/s | words/s | peak RSS MiB | nlp.pipe s "
        "| build / nlp.pipe |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            corpus, out = Path(scratch) / "dumps", Path(scratch) / "out"
            make_corpus(corpus, size)
            done = subprocess.run(
                [sys.executable, "-m", "newspack.bench", "--measure", str(corpus), str(out)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {r['articles']} | {r['words']} | {r['build_s']} | {r['articles_per_s']} | "
            f"{r['words_per_s']} | {r['peak_rss_mib']} | {r['nlp_pipe_s']} | "
            f"{r['build_over_nlp']} |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
