"""Evaluation: precision, recall and F1 of the entities against the hand-checked gold list.

Scored on distinct (name, type) per article, over all versions of the article. A predicted
entity matches a gold one of the same type when its canonical name is one of the gold
spellings (compared case- and punctuation-insensitively); names listed as optional count
neither way. Run with `nox -s evaluate` (or `python -m newspack.evaluate`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newspack.config import DEFAULT_DUMPS_DIR, GOLD_DIR
from newspack.identify import identity_key

Pair = tuple[str, str]  # (type, name)


@dataclass
class Score:
    true_positives: int = 0
    false_positives: list[tuple[str, Pair]] = field(default_factory=list)
    false_negatives: list[tuple[str, Pair]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + len(self.false_positives)
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + len(self.false_negatives)
        return self.true_positives / expected if expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_gold(path: Path = GOLD_DIR / "entities.yaml") -> dict[str, dict]:
    """article_id -> {"entities": [(type, {keys})], "optional": {keys}}."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    gold = {}
    for article_id, by_type in raw.items():
        optional = {identity_key(n) for n in by_type.get("optional", [])}
        entities = [
            (entity_type, {identity_key(s) for s in name.split("|")})
            for entity_type, names in by_type.items()
            if entity_type != "optional"
            for name in names
        ]
        gold[article_id] = {"entities": entities, "optional": optional}
    return gold


def predicted_pairs(entities: list[dict], mentions: list[dict]) -> dict[str, set[Pair]]:
    by_id = {e["entity_id"]: e for e in entities}
    found: dict[str, set[Pair]] = defaultdict(set)
    for m in mentions:
        entity = by_id[m["entity_id"]]
        found[m["article_id"]].add((entity["entity_type"], entity["name"]))
    return found


def score(gold: dict[str, dict], found: dict[str, set[Pair]]) -> Score:
    result = Score()
    for article_id, expected in gold.items():
        unmatched = list(expected["entities"])
        for entity_type, name in sorted(found.get(article_id, set())):
            key = identity_key(name)
            match = next((g for g in unmatched if g[0] == entity_type and key in g[1]), None)
            if match:
                unmatched.remove(match)
                result.true_positives += 1
            elif key not in expected["optional"]:
                result.false_positives.append((article_id, (entity_type, name)))
        result.false_negatives += [(article_id, (t, sorted(names)[0])) for t, names in unmatched]
    return result


def main() -> None:
    from newspack import pipeline
    from newspack.entities import entity_tables

    paths, _ = pipeline.find_dumps(DEFAULT_DUMPS_DIR)
    parsed, unread = pipeline.parse_dumps(paths)
    rows = entity_tables(pipeline.build_tables(parsed, unread, with_entities=False))
    result = score(load_gold(), predicted_pairs(rows["entities"], rows["mentions"]))
    print(f"entities (distinct name and type per article, {len(load_gold())} articles)")
    print(f"  precision {result.precision:.3f}  recall {result.recall:.3f}  F1 {result.f1:.3f}")
    print(
        f"  true positives {result.true_positives}, false positives "
        f"{len(result.false_positives)}, false negatives {len(result.false_negatives)}"
    )
    for label, items in (
        ("false positive", result.false_positives),
        ("false negative", result.false_negatives),
    ):
        for article_id, (entity_type, name) in items:
            print(f"  {label}: {article_id} {entity_type} {name}")


if __name__ == "__main__":
    main()
