"""Development, benchmark: build synthetic corpora and report speed and memory.

The corpus generator recombines the real dumps' articles (deterministic for a seed): each
synthetic article takes a real article block, gets a new title, its body paragraphs
shuffled (the dateline paragraph stays first), each paragraph's first sentence followed by
sentences drawn from every article with their numbers changed, and another update time;
dumps hold six articles each.

For every size, the corpus is built from a cold cache once per process count (each build in
a fresh process), reporting wall time, articles/s, words/s and peak memory (the summed RSS
of the build's processes, sampled); after each build a bare `nlp.pipe` over the same texts
with the same model and the same number of processes runs in the same process: the floor
the rest of the pipeline adds to. With --executor dask the per-dump stages run on a Dask
LocalCluster of as many worker processes instead (execution/cluster.py). With --warm, each
cold build is followed by a build of the same corpus with every dump in the cache: the
corpus-level stages alone (identity, enrichment, validation, publishing), time and peak
memory. Then a corpus of 200 dumps is built, one dump added and the build run again
(incremental build). --growth measures the corpus-level stages alone at several sizes, from
one cold build of the largest: for each size, its first dumps (the same articles as a corpus
of that size) are built with every dump from that build's cache.

    python -m newspack.dev.bench --sizes 100 1000 --jobs 1 2 --incremental 200
    python -m newspack.dev.bench --sizes 1000 --jobs 2 --executor dask --warm --no-floor
    python -m newspack.dev.bench --growth 1000 5000 10000 20000 --jobs 2
    nox -s bench -- --sizes 5000 --jobs 2 --incremental 0     # arguments pass through
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from newspack.config import REPO_DUMPS_DIR
from newspack.execution.local import default_jobs
from newspack.ingest.read import read_dump
from newspack.ingest.split import HeaderRole, split_dump

ARTICLES_PER_DUMP = 6
DEFAULT_SIZES = (100, 1000)
DEFAULT_INCREMENTAL_DUMPS = 200
UPDATED_CHOICES = (
    "Updated 20 sec ago",
    "Updated 3 min 55 sec ago",
    "Updated 16 min ago",
    "Updated 09 September 2025",
    "Updated 08 September 2025",
)


_SENTENCE_END = re.compile(r"(?<=[.!?”])\s+(?=[A-Z“])")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
PROSE_MIN_CHARS = 80  # body lines shorter than this (headings, captions) are left as they are


def _sentences(paragraph: str) -> list[str]:
    return _SENTENCE_END.split(paragraph)


def _vary_number(match: re.Match[str], rng: random.Random) -> str:
    """Another number of the same shape; years stay (the build reads them as dates)."""
    text = match.group(0)
    if len(text) == 4 and text[:2] in ("19", "20"):
        return text
    return "".join(rng.choice("123456789") if c.isdigit() else c for c in text)


def _vary_paragraph(paragraph: str, pool: list[str], rng: random.Random) -> str:
    """The paragraph's first sentence and as many others drawn from every article, numbers
    changed: a text the model has not seen in the corpus, of about the same length."""
    if len(paragraph) < PROSE_MIN_CHARS:
        return paragraph
    sentences = _sentences(paragraph)
    drawn = [rng.choice(pool) for _ in range(max(1, len(sentences) - 1))]
    varied = " ".join([sentences[0], *drawn])
    return _NUMBER.sub(lambda m: _vary_number(m, rng), varied)


def _templates() -> list[tuple[list[tuple[str, HeaderRole]], list[str]]]:
    """(header lines with roles, body lines) of every real article block."""
    found = []
    for path in sorted(REPO_DUMPS_DIR.glob("*.txt")):
        for block in split_dump(read_dump(path).lines).blocks:
            header = [(line.raw, role) for line, role in block.header]
            found.append((header, [line.raw for line in block.body]))
    return found


def _sentence_pool(templates) -> list[str]:
    return [
        sentence
        for _, body in templates
        for line in body
        if len(line.strip()) >= PROSE_MIN_CHARS
        for sentence in _sentences(line.strip())[1:]
    ]


def _vary(template, number: int, rng: random.Random, pool: list[str]) -> list[str]:
    header, body = template
    title = next(text for text, role in header if role is HeaderRole.TITLE).strip()
    new_title = f"{title} ({number})"
    lines = []
    for text, role in header:
        if role in (HeaderRole.TITLE, HeaderRole.TITLE_REPEAT) and text.strip() == title:
            lines.append(new_title)
        elif role is HeaderRole.UPDATED:
            lines.append(rng.choice(UPDATED_CHOICES))
        else:
            lines.append(text)
    paragraphs = [line for line in body if line.strip()]
    rest = paragraphs[1:]
    rng.shuffle(rest)
    for paragraph in [paragraphs[0], *rest] if paragraphs else []:
        lines += ["", _vary_paragraph(paragraph, pool, rng)]
    return lines


def make_corpus(
    folder: Path, articles: int, seed: int = 0, per_dump: int = ARTICLES_PER_DUMP
) -> list[Path]:
    """Write `articles` synthetic articles as NNN_<hash>.txt dumps of `per_dump` articles
    into folder."""
    rng = random.Random(seed)
    templates = _templates()
    pool = _sentence_pool(templates)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for dump_number, first in enumerate(range(0, articles, per_dump)):
        blocks = [
            _vary(rng.choice(templates), n, rng, pool)
            for n in range(first, min(first + per_dump, articles))
        ]
        text = "\n\n\n".join("\n".join(block) for block in blocks) + "\n"
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        path = folder / f"{dump_number:04d}_{digest}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class TreeMemory:
    """Peak of the summed RSS of this process and all its descendants (the build's worker
    processes), sampled from /proc every SAMPLE_SECONDS in a background thread."""

    SAMPLE_SECONDS = 0.2

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_SECONDS):
            self.peak_bytes = max(self.peak_bytes, _tree_rss(os.getpid()))


def _tree_rss(root: int) -> int:
    """RSS in bytes of a process and its descendants (0 where /proc cannot tell)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            resident = int((entry / "statm").read_text().split()[1]) * page
        except OSError:
            continue  # the process ended while we looked
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry.name)] = resident
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    return sum(rss.get(pid, 0) for pid in tree)


def _analysed_texts(tables) -> list[str]:
    """The texts the build analyses: each dump's distinct titles, bullets, paragraphs and
    captions."""
    from newspack.ingest.sources import sources

    by_dump: dict[str, dict[str, None]] = {}
    for src in sources(tables):
        by_dump.setdefault(src.dump_id, {})[src.text] = None
    return [text for texts in by_dump.values() for text in texts]


def _executor(name: str, jobs: int):
    if name == "dask":
        from newspack.execution.cluster import DaskExecutor

        return DaskExecutor(jobs=jobs)  # a LocalCluster of `jobs` worker processes
    return None  # the local executor with `jobs` processes


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user and system) of this process, and of it with its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = own.ru_utime + own.ru_stime
    return mine, mine + children.ru_utime + children.ru_stime


def measure(
    dumps: Path,
    out: Path,
    jobs: int,
    with_floor: bool,
    executor: str = "local",
    cache_dir: Path | None = None,
    memory_limit: str | None = None,
) -> dict:
    """Build once (in a fresh process) and, with_floor, time a bare nlp.pipe over the texts
    with as many processes as the build."""
    from newspack import pipeline
    from newspack.nlp.model import BATCH_SIZE, load_model

    with TreeMemory() as memory:
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        report = pipeline.run(
            dumps,
            out,
            jobs=jobs,
            executor=_executor(executor, jobs),
            cache_dir=cache_dir,
            memory_limit=memory_limit,
        )
        build_seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds()
    articles = len(report.tables["article_versions"])
    words = int(report.tables["article_versions"]["word_count"].sum())
    result = {
        "articles": articles,
        "words": words,
        "jobs": jobs,
        "executor": executor,
        **report.work,
        "build_s": round(build_seconds, 1),
        "articles_per_s": round(articles / build_seconds, 1),
        "words_per_s": round(words / build_seconds),
        "peak_rss_mib": round(memory.peak_bytes / 2**20),
        "main_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # CPU of the build's own process alone (not its workers): what the building machine
        # does whatever the number of workers.
        "main_cpu_s": round(cpu_after[0] - cpu_before[0], 1),
        # CPU of every process, workers included (ended and waited for by then): on a
        # machine whose cores are all busy, what bounds the wall time. The machine is
        # shared, so the same work takes more or less CPU from run to run; compare
        # runs made one after the other.
        "all_cpu_s": round(cpu_after[1] - cpu_before[1], 1),
    }
    if with_floor:
        texts = _analysed_texts(report.tables)
        nlp = load_model()
        started = time.perf_counter()
        # n_process as the build's workers: like is compared with like on the same cores.
        for _ in nlp.pipe(texts, batch_size=BATCH_SIZE, n_process=jobs):
            pass
        result["nlp_pipe_s"] = round(time.perf_counter() - started, 1)
    return result


def _measure_in_subprocess(
    dumps: Path,
    out: Path,
    jobs: int,
    with_floor: bool,
    executor: str = "local",
    cache_dir: Path | None = None,
    memory_limit: str | None = None,
) -> dict:
    command = [sys.executable, "-m", "newspack.dev.bench", "--measure", str(dumps), str(out)]
    command += [str(jobs), "floor" if with_floor else "-", executor, str(cache_dir or "-")]
    command += [memory_limit or "-"]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


SIZE_HEADER = (
    "| articles | words | executor | processes | build s | articles/s | words/s | peak RSS MiB "
    "| nlp.pipe s | build / nlp.pipe |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
)


def _print_row(r: dict) -> None:
    print(
        f"| {r['articles']} | {r['words']} | {r['executor']} | {r['workers']} | "
        f"{r['build_s']} | {r['articles_per_s']} | {r['words_per_s']} | {r['peak_rss_mib']} | "
        f"{r['nlp_pipe_s']} | {r['build_over_nlp']} |",
        flush=True,
    )


def bench_size(
    size: int,
    jobs_list: list[int],
    with_floor: bool = True,
    executor: str = "local",
    warm: bool = False,
) -> list[dict]:
    """Full (cold-cache) builds of one corpus, one per process count, each with its floor;
    with `warm`, each followed by a fully cached build (the corpus-level stages alone)."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "dumps"
        make_corpus(corpus, size)
        for jobs in jobs_list:
            out = Path(scratch) / f"out-{jobs}"
            r = _measure_in_subprocess(corpus, out, jobs, with_floor, executor)
            floor = r.get("nlp_pipe_s")
            ratio = round(r["build_s"] / floor, 2) if floor else "-"
            r["nlp_pipe_s"], r["build_over_nlp"] = floor or "-", ratio
            _print_row(r)
            rows.append(r)
            if warm:  # the same corpus again, every dump from the cache
                again = _measure_in_subprocess(corpus, out, jobs, False, "local")
                again.update(executor="cached", nlp_pipe_s="-", build_over_nlp="-")
                _print_row(again)
                rows.append(again)
    return rows


def bench_growth(
    sizes: list[int], jobs: int, memory_limit: str | None = None, keep: Path | None = None
) -> list[dict]:
    """The corpus-level stages alone at each size: the largest corpus is built once from a
    cold cache, then, for each size, its first dumps (the articles make_corpus(size) writes)
    are built into a new folder with every dump taken from that cache. With `keep`, the
    corpus and its cache stay in that folder and a later run reuses them (no cold build):
    code before and after a change is measured on the same cache."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = keep or Path(scratch)
        corpus, cache = root / "dumps", root / "cache"
        paths = sorted(corpus.glob("*.txt")) or make_corpus(corpus, max(sizes))
        if len(paths) * ARTICLES_PER_DUMP < max(sizes):
            raise SystemExit(f"{corpus}: fewer than {max(sizes)} articles; use another --keep")
        if not cache.exists():
            cold = _measure_in_subprocess(corpus, root / "out", jobs, False, "local", cache)
            print(
                f"(the cold build first: {cold['articles']} articles, {cold['build_s']} s, "
                f"peak RSS {cold['peak_rss_mib']} MiB)",
                flush=True,
            )
        for size in sorted(sizes):
            prefix = root / f"dumps-{size}"
            if not prefix.exists():
                prefix.mkdir()
                for path in paths[: -(-size // ARTICLES_PER_DUMP)]:
                    shutil.copy(path, prefix)
            out = root / f"out-{size}"
            shutil.rmtree(out, ignore_errors=True)
            warm = _measure_in_subprocess(prefix, out, jobs, False, "local", cache, memory_limit)
            print(
                f"| {warm['articles']} | {jobs} | {memory_limit or 'default'} | "
                f"{warm['build_s']} | {warm['main_cpu_s']} | {warm['all_cpu_s']} | "
                f"{warm['peak_rss_mib']} | {warm['main_max_rss_mib']} |",
                flush=True,
            )
            rows.append(warm)
    return rows


GROWTH_HEADER = (
    "| articles | --jobs | --memory-limit | build s | build process CPU s | all processes CPU s "
    "| peak RSS MiB | build process peak RSS MiB |\n"
    "|---:|---:|---|---:|---:|---:|---:|---:|"
)


def bench_incremental(dumps: int, jobs: int) -> dict:
    """A cold build of `dumps` dumps, then one more dump added and the build run again."""
    with tempfile.TemporaryDirectory() as scratch:
        corpus, bigger, out = (Path(scratch) / name for name in ("dumps", "bigger", "out"))
        make_corpus(corpus, dumps * ARTICLES_PER_DUMP)
        added = make_corpus(bigger, (dumps + 1) * ARTICLES_PER_DUMP)[-1]
        full = _measure_in_subprocess(corpus, out, jobs, with_floor=False)
        shutil.copy(added, corpus / added.name)
        again = _measure_in_subprocess(corpus, out, jobs, with_floor=False)
    ratio = again["build_s"] / full["build_s"]
    print(
        f"| {dumps} + 1 | {full['build_s']} | {again['build_s']} | {again['processed']} | "
        f"{again['from_cache']} | {ratio:.1%} |",
        flush=True,
    )
    return {"full": full, "incremental": again, "ratio": ratio}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--measure"]:
        dumps, out, jobs, floor, executor, cache_dir, memory_limit = argv[1:8]
        cache = None if cache_dir == "-" else Path(cache_dir)
        limit = None if memory_limit == "-" else memory_limit
        result = measure(
            Path(dumps), Path(out), int(jobs), floor == "floor", executor, cache, limit
        )
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(prog="python -m newspack.dev.bench", description=__doc__)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, default_jobs()])
    parser.add_argument("--incremental", type=int, default=DEFAULT_INCREMENTAL_DUMPS)
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the bare nlp.pipe (it takes as long)"
    )
    parser.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="dask: the per-dump stages on a LocalCluster of --jobs worker processes",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="after each cold build, build again from the cache: the corpus-level stages",
    )
    parser.add_argument(
        "--growth",
        nargs="+",
        type=int,
        metavar="SIZE",
        help="instead: the corpus-level stages at each size, from one cold build of the largest",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="with --growth: keep the corpus and its cache in DIR, and reuse them when there",
    )
    parser.add_argument("--memory-limit", help="the builds' --memory-limit (default: theirs)")
    args = parser.parse_args(argv)
    if args.growth:
        print(f"Corpus-level stages by size (every dump from the cache):\n\n{GROWTH_HEADER}")
        bench_growth(args.growth, max(args.jobs), args.memory_limit, args.keep)
        return
    print(f"Full builds (cold cache), processes {args.jobs}:\n\n{SIZE_HEADER}")
    for size in args.sizes:
        bench_size(size, args.jobs, not args.no_floor, args.executor, args.warm)
    if args.incremental:
        print(
            "\nIncremental build:\n\n| dumps | full build s | after adding 1 s | processed "
            "| from cache | incremental / full |\n|---|---:|---:|---:|---:|---:|"
        )
        bench_incremental(args.incremental, max(args.jobs))


if __name__ == "__main__":
    main(sys.argv[1:])
