"""After the build (the dataset site): the SQL page's engine, DuckDB compiled to WebAssembly.

The engine is vendored into the site when it is built, never fetched from elsewhere when a
page is read. Its version is pinned in one place, `engine/package-lock.json` beside this
module, with the npm registry's integrity hash of every package; `npm ci` refuses a tarball
whose hash differs. `prepare_engine` installs it once into a cache folder of newspack's own
(`$XDG_CACHE_HOME/newspack/sql-engine`, or `--engine-cache`) and makes the bundle the site
ships:

- `duckdb-browser-eh.worker.js` and `duckdb-eh.wasm`, as npm gave them (the build for
  browsers with WebAssembly exceptions: every current one);
- `parquet_wasm_bg.wasm` of parquet-wasm, which reads the site's Parquet files into Arrow
  for DuckDB: DuckDB-WASM has no Parquet reader of its own, it would download its Parquet
  extension from DuckDB's servers when a page runs;
- `engine.mjs`: DuckDB-WASM's ESM entry, parquet-wasm's and Apache Arrow (which DuckDB-WASM
  imports by a bare name that a browser cannot resolve) bundled by esbuild (pinned too) into
  one file;
- the licences of Apache Arrow and parquet-wasm (DuckDB-WASM's, MIT, is in its
  package.json only).

A manifest records each file's SHA-256, checked again when the site copies the bundle. Where
npm is missing or fails, `EngineUnavailable` says why, and the site is built without the
engine (its SQL page says so).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from newspack.site.upstream import make_owned_dir, owned, remove_owned

CACHE_KIND = "sql-engine"  # the owner marker's kind of the engine cache and its folders
PACKAGE = "@duckdb/duckdb-wasm"
PARQUET = "parquet-wasm"
BUNDLER = "esbuild"
MANIFEST = "manifest.json"
ENTRY = "engine.mjs"
WORKER = "duckdb-browser-eh.worker.js"
WASM = "duckdb-eh.wasm"
PARQUET_WASM = "parquet_wasm_bg.wasm"
COPIED = {  # file in the bundle: (npm package, its file), copied as npm gave it
    WORKER: (PACKAGE, f"dist/{WORKER}"),
    WASM: (PACKAGE, f"dist/{WASM}"),
    PARQUET_WASM: (PARQUET, f"esm/{PARQUET_WASM}"),
    "LICENSE-apache-arrow.txt": ("apache-arrow", "LICENSE.txt"),
    "NOTICE-apache-arrow.txt": ("apache-arrow", "NOTICE.txt"),
    "LICENSE-parquet-wasm-MIT.txt": (PARQUET, "LICENSE_MIT"),
    "LICENSE-parquet-wasm-APACHE.txt": (PARQUET, "LICENSE_APACHE"),
}
NPM_SECONDS = 600  # npm ci downloads about 40 MB once; the bundler takes well under a second
# The entry bundled: DuckDB-WASM's API, Arrow's (the page reads result types with it) and
# parquet-wasm's reader.
ENTRY_SOURCE = (
    "export * from '@duckdb/duckdb-wasm';\n"
    "export * as arrow from 'apache-arrow';\n"
    "export { default as initParquet, readParquet } from 'parquet-wasm/esm';\n"
)


class EngineUnavailable(RuntimeError):
    """The engine could not be installed or bundled (no npm, no registry, a bad hash ...)."""


@dataclass(frozen=True)
class Engine:
    """A bundle ready to copy into a site: its folder, the pinned version and integrity, and
    the SHA-256 of each file (file name -> hex)."""

    folder: Path
    version: str
    integrity: str
    files: dict[str, str]


def lockfile() -> dict:
    """The pinned lockfile (engine/package-lock.json)."""
    text = resources.files(__package__).joinpath("engine", "package-lock.json").read_text("utf-8")
    return json.loads(text)


def pinned() -> tuple[str, str]:
    """(version, integrity) of DuckDB-WASM as the lockfile pins it."""
    entry = lockfile()["packages"][f"node_modules/{PACKAGE}"]
    return entry["version"], entry["integrity"]


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newspack" / "sql-engine"


def _key() -> str:
    """The cache folder of this pin: a new lockfile means a new install."""
    lock = resources.files(__package__).joinpath("engine", "package-lock.json").read_bytes()
    version, _ = pinned()
    return f"duckdb-wasm-{version}-{hashlib.sha256(lock).hexdigest()[:12]}"


def prepare_engine(cache: Path | None = None) -> Engine:
    """The bundle of the pinned engine, installed into `cache` first when it is not there.

    Raises EngineUnavailable (npm missing or failing, a file not as pinned) and NotOwned
    (a `cache` folder holding files newspack did not make)."""
    cache = make_owned_dir(Path(cache or default_cache()).absolute(), CACHE_KIND)
    done = cache / _key()
    if not owned(done, CACHE_KIND):
        staging = make_owned_dir(cache / f".staging-{uuid.uuid4().hex[:12]}", CACHE_KIND)
        try:
            _install(staging)
            try:
                os.rename(staging, done)
            except OSError:
                if not owned(done, CACHE_KIND):  # not another build's finished install
                    raise
        finally:
            remove_owned(staging, CACHE_KIND)  # gone already when it was renamed
    return load_engine(done / "bundle")


def load_engine(bundle: Path) -> Engine:
    """The bundle in `bundle`, its files checked against its manifest."""
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        files = dict(manifest["files"])
        version, integrity = str(manifest["version"]), str(manifest["integrity"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EngineUnavailable(f"{bundle}: not an engine bundle ({error})") from None
    if (version, integrity) != pinned():
        raise EngineUnavailable(f"{bundle}: DuckDB-WASM {version}, not the pinned version")
    if set(files) != {ENTRY, *COPIED}:
        raise EngineUnavailable(f"{bundle}: the bundle's files are not the engine's")
    for name, digest in files.items():
        path = bundle / name
        if path.is_symlink() or not path.is_file() or _sha256(path) != digest:
            raise EngineUnavailable(f"{path}: not the file the bundle was made with")
    return Engine(bundle, version, integrity, files)


def _install(folder: Path) -> None:
    source = resources.files(__package__).joinpath("engine")
    for name in ("package.json", "package-lock.json"):
        (folder / name).write_bytes(source.joinpath(name).read_bytes())
    npm = shutil.which("npm")
    if npm is None:
        raise EngineUnavailable("npm is not installed, so the SQL engine cannot be fetched")
    # `ci` installs exactly the lockfile, checking every tarball against its integrity hash;
    # no install scripts run (esbuild finds its binary in its platform package all the same).
    _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"], folder)
    modules = folder / "node_modules"
    installed = json.loads((modules / PACKAGE / "package.json").read_text(encoding="utf-8"))
    if installed.get("version") != pinned()[0]:
        raise EngineUnavailable(f"npm installed {PACKAGE} {installed.get('version')}")
    bundle = folder / "bundle"
    bundle.mkdir()
    (folder / "entry.mjs").write_text(ENTRY_SOURCE, encoding="utf-8")
    esbuild = modules / ".bin" / BUNDLER
    _run(
        [
            str(esbuild),
            "entry.mjs",
            "--bundle",
            "--format=esm",
            "--minify",
            "--legal-comments=eof",
            "--log-level=error",
            f"--outfile={bundle / ENTRY}",
        ],
        folder,
    )
    for name, (package, file) in COPIED.items():
        shutil.copyfile(modules / package / file, bundle / name)
    version, integrity = pinned()
    files = {p.name: _sha256(p) for p in sorted(bundle.iterdir())}
    manifest = {"version": version, "integrity": integrity, "files": files}
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(modules)  # only the bundle is kept


def _run(command: list[str], folder: Path) -> None:
    try:
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=NPM_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineUnavailable(f"{Path(command[0]).name} {command[1]}: {error}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise EngineUnavailable(f"{Path(command[0]).name} {command[1]}: {reason}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
