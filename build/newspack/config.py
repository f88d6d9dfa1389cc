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


# Releases are untrusted input: an index, a release zip or a package folder may come from a
# mirror, a fork or a compromised host (releases/untrusted.py). What opening one may cost:
RELEASE_CONNECT_TIMEOUT = 10.0  # seconds to connect to a server
RELEASE_READ_TIMEOUT = 30.0  # seconds a server may stay silent mid-transfer
RELEASE_DOWNLOAD_SECONDS = 3600.0  # a whole download, however steadily the bytes trickle
RELEASE_MAX_REDIRECTS = 5
MAX_INDEX_BYTES = 4 * 2**20  # releases.json: a few hundred bytes per release
MAX_RELEASE_BYTES = 4 * 2**30  # a release zip whose size the index does not declare
MAX_MEMBER_BYTES = 4 * 2**30  # one unpacked member of a release (a table, the DuckDB file)
MAX_UNPACKED_BYTES = 16 * 2**30  # every member of a release together
# Unpacked over packed size. Real members stay under 50 (the DuckDB file, mostly empty
# blocks; CSVs under 10); zip bombs run to thousands. Small members are not held to it.
MAX_COMPRESSION_RATIO = 200
RATIO_FREE_BYTES = 2**20
MAX_ZIP_MEMBERS = 1000  # a package has a few dozen
MAX_METADATA_BYTES = 64 * 2**20  # datapackage.json, CHANGELOG.md, README.md, SHA256SUMS
# The diff keeps 16 bytes per row of each table side (hashes of key and row), never the
# rows: this caps that at about 320 MB a side.
MAX_DIFF_ROWS = 20_000_000
# The csv module holds a whole record at once: no physical line of a CSV may be longer.
MAX_CSV_LINE_CHARS = 64 * 2**20
# The site runs the README's example queries; one that takes longer is stopped.
SITE_QUERY_SECONDS = 60.0
