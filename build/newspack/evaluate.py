"""Evaluation: precision, recall and F1 of entities and figures against hand-checked gold lists.

Entities are scored on distinct (name, type) per article, over all versions of the article:
a predicted entity matches a gold one of the same type when its canonical name is one of the
gold spellings (compared case- and punctuation-insensitively); names listed as optional count
neither way. Figures are scored on distinct (value, unit) per article. Run with
`nox -s evaluate` (or `python -m newspack.evaluate`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newspack.config import DEFAULT_DUMPS_DIR, GOLD_DIR
from newspack.frames import records
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


def load_figure_gold(path: Path = GOLD_DIR / "figures.yaml") -> dict[str, list[tuple]]:
    """article_id -> [(value, {units})]; unit "-" is none stated."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    gold = {}
    for article_id, entries in raw.items():
        parsed = []
        for entry in entries:
            value, unit = str(entry).split(" ", 1)
            units = {None if u == "-" else u for u in unit.split("|")}
            parsed.append((float(value), units))
        gold[article_id] = parsed
    return gold


def figure_pairs(figures: list[dict]) -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = defaultdict(set)
    for f in figures:
        found[f["article_id"]].add((float(f["value"]), f["unit"]))
    return found


def score_figures(gold: dict[str, list[tuple]], found: dict[str, set[tuple]]) -> Score:
    result = Score()
    for article_id, expected in gold.items():
        unmatched = list(expected)
        for value, unit in sorted(found.get(article_id, set()), key=repr):
            match = next(
                (
                    g
                    for g in unmatched
                    if abs(g[0] - value) <= 1e-6 * max(1.0, abs(value)) and unit in g[1]
                ),
                None,
            )
            if match:
                unmatched.remove(match)
                result.true_positives += 1
            else:
                result.false_positives.append((article_id, (unit, str(value))))
        result.false_negatives += [
            (article_id, (sorted(map(str, u))[0], str(v))) for v, u in unmatched
        ]
    return result


def _print(title: str, result: Score) -> None:
    print(title)
    print(f"  precision {result.precision:.3f}  recall {result.recall:.3f}  F1 {result.f1:.3f}")
    print(
        f"  true positives {result.true_positives}, false positives "
        f"{len(result.false_positives)}, false negatives {len(result.false_negatives)}"
    )
    for label, items in (
        ("false positive", result.false_positives),
        ("false negative", result.false_negatives),
    ):
        for article_id, (first, second) in items:
            print(f"  {label}: {article_id} {first} {second}")


def main() -> None:
    from newspack import pipeline

    paths, _ = pipeline.find_dumps(DEFAULT_DUMPS_DIR)
    tables = pipeline.build_tables(pipeline.process_dumps(paths))
    rows = {table: records(frame) for table, frame in tables.items()}
    entity_score = score(load_gold(), predicted_pairs(rows["entities"], rows["mentions"]))
    _print(
        f"entities (distinct name and type per article, {len(load_gold())} articles)", entity_score
    )
    figure_score = score_figures(load_figure_gold(), figure_pairs(rows["figures"]))
    _print("figures (distinct value and unit per article)", figure_score)


if __name__ == "__main__":
    main()
