"""Stage 8: the dataset site — the one place where it reaches into the rest of newspack.

The site is made from the published package alone; it borrows only the pipeline's
read-only SQL runner, its rules about which folders newspack owns, and the views the DuckDB
file carries. These imports live here, together, because their module paths are expected
to move when the pipeline is restructured: only this file should need editing then.
"""

from __future__ import annotations

from importlib import resources

from newspack.config import OWNER_MARKER_NAME
from newspack.ownership import NotOwned, make_owned_dir, owned, remove_owned
from newspack.query import QueryError, run_query

__all__ = [
    "OWNER_MARKER_NAME",
    "NotOwned",
    "QueryError",
    "make_owned_dir",
    "owned",
    "remove_owned",
    "run_query",
    "views_sql",
]


def views_sql() -> str:
    """The CREATE VIEW statements of the published DuckDB file (article_entities and the
    others that the README's example queries use)."""
    return resources.files("newspack").joinpath("views.sql").read_text(encoding="utf-8")
