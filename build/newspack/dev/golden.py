"""Development, golden row counts: rewrite tests/golden/row_counts.json from a fresh build.

Run through `nox -s update_golden`; the tests fail when a build's counts differ from it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from newspack import pipeline
from newspack.config import GOLDEN_ROW_COUNTS, REPO_DUMPS_DIR


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        report = pipeline.run(REPO_DUMPS_DIR, Path(out))
    GOLDEN_ROW_COUNTS.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_ROW_COUNTS.write_text(json.dumps(report.row_counts(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN_ROW_COUNTS}: {report.row_counts()}")


if __name__ == "__main__":
    main()
