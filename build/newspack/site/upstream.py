"""After the build (the dataset site): the one place where it reaches into the rest of newspack.

The site is made from the published package alone; it borrows only the releases' reader of
untrusted packages and their SQL sandbox, the pipeline's rules about which folders newspack
owns, the DuckDB type of each Frictionless type, the quoting of SQL names and the views
the DuckDB file carries (one source for each).
"""

from __future__ import annotations

from importlib import resources

from newspack import config
from newspack.config import OWNER_MARKER_NAME
from newspack.package.ownership import NotOwned, make_owned_dir, owned, remove_owned
from newspack.package.schema import duckdb_type
from newspack.releases import sandbox
from newspack.releases.untrusted import Folder, PackageError, resources_of
from newspack.tables.corpus import quoted

__all__ = [
    "OWNER_MARKER_NAME",
    "Folder",
    "NotOwned",
    "PackageError",
    "duckdb_type",
    "make_owned_dir",
    "owned",
    "query_seconds",
    "quoted",
    "remove_owned",
    "resources_of",
    "sandbox",
    "views_sql",
]


def views_sql() -> str:
    """The CREATE VIEW statements of the published DuckDB file (article_entities and the
    others that the README's example queries use)."""
    return resources.files("newspack.package").joinpath("views.sql").read_text(encoding="utf-8")


def query_seconds() -> float:
    """How long one example query may run (config.SITE_QUERY_SECONDS, read when used)."""
    return config.SITE_QUERY_SECONDS
