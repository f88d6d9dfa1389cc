"""After the build (the dataset site): where it is written, and why a user's folder is never lost.

The site is built in a fresh folder beside `--out`, marked as newspack's, and swapped in
only when every file is written: a failed build leaves the previous site as it was. The
folder at `--out` is replaced only when newspack made it (it carries the owner marker) or
when it is empty; any other folder is refused before anything is written.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newspack.site.upstream import NotOwned, make_owned_dir, owned, remove_owned

SITE_KIND = "site"  # the kind written in the owner marker of a site folder
STAGING_PREFIX = ".newspack-site-"


def check_site_target(out: Path) -> None:
    """Refuse (NotOwned) an --out that newspack may not replace."""
    if not os.path.lexists(out) or owned(out, SITE_KIND):
        return
    if out.is_symlink() or not out.is_dir():
        raise NotOwned(
            f"{out}: exists and is not a folder newspack made; --out must name a new folder "
            "or a site folder newspack built before"
        )
    if any(out.iterdir()):
        raise NotOwned(
            f"{out}: holds files newspack did not create, so newspack will not replace it. "
            "Choose a new or empty folder for --out (or the folder of a site newspack built)."
        )


@contextmanager
def staged_site(out: Path) -> Iterator[Path]:
    """A new folder to write the site into; on success it replaces `out`, on failure it goes."""
    check_site_target(out)
    staging = make_owned_dir(out.parent / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}", SITE_KIND)
    try:
        yield staging
        _swap_in(staging, out)
    except BaseException:
        remove_owned(staging, SITE_KIND)
        raise


def _swap_in(staging: Path, out: Path) -> None:
    check_site_target(out)  # again: the folder may have changed while the site was built
    retired = None
    if os.path.lexists(out):
        if owned(out, SITE_KIND):
            retired = out.parent / f"{STAGING_PREFIX}old-{uuid.uuid4().hex[:12]}"
            os.rename(out, retired)
        else:
            out.rmdir()  # an empty folder (checked above): nothing of the user's is lost
    try:
        os.rename(staging, out)
    except OSError:
        if retired is not None:
            os.rename(retired, out)  # put the previous site back
        raise
    if retired is not None:
        remove_owned(retired, SITE_KIND)
