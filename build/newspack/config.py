"""Settings shared by every stage: where things are, and the names of the published files."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# In a repository checkout the package sits in <repo>/build/newspack; a wheel carries the
# schemas inside the package instead.
REPO_ROOT = PACKAGE_DIR.parents[1]
SCHEMAS_DIR = next(
    (p for p in (REPO_ROOT / "schemas", PACKAGE_DIR / "schemas") if (p / "fields.yaml").exists()),
    REPO_ROOT / "schemas",
)
RULES_DIR = PACKAGE_DIR / "rules"

# The repository's own dumps (tests, benchmarks, evaluation); the command line's defaults
# are the user's working folder instead (workspace()).
DUMPS_DIRNAME = "dumps"
REPO_DUMPS_DIR = REPO_ROOT / DUMPS_DIRNAME
DATA_DIRNAME = "data"
DESCRIPTOR_NAME = "datapackage.json"
DIST_DIRNAME = "dist"
DUCKDB_NAME = "newspack.duckdb"
# DuckDB's memory while it loads the CSVs (beyond it, it spills to disk): the build's memory
# should not grow with the biggest table.
DUCKDB_MEMORY_LIMIT = "256MB"
RELEASES_INDEX_NAME = "releases.json"
# In every folder newspack makes (cache, staging, scratch): proof that it may delete it.
OWNER_MARKER_NAME = ".newspack-owner"
CHANGELOG_NAME = "CHANGELOG.md"
GOLDEN_ROW_COUNTS = REPO_ROOT / "tests" / "golden" / "row_counts.json"
GOLD_DIR = REPO_ROOT / "tests" / "gold"  # hand-checked gold lists for the evaluation

# NNN_<hash>.txt: crawl order, then a hex content hash given by the crawler.
DUMP_NAME_PATTERN = r"(?P<crawl_order>\d{3,})_(?P<name_hash>[0-9a-f]+)"

# Longest line read as text. News paragraphs run to a few thousand characters; a longer
# line is scraping debris (a whole page on one line, an inlined blob). It is quarantined
# whole, so it never reaches the NLP model (which refuses texts over 1,000,000 characters
# and needs gigabytes far below that).
MAX_LINE_CHARS = 20_000


def workspace(start: Path | None = None) -> Path:
    """The folder the command line works in by default: the newspack repository when run
    inside a checkout of it, else the current folder (never the installed package's)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "build" / "newspack").is_dir():
            return folder
    return start
