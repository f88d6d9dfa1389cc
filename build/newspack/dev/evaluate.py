"""Development, evaluation: entities, figures and quotations against hand-made gold lists.

Entities are scored on distinct (name, type) per article, over all versions of the article:
a predicted entity matches a gold one of the same type when its canonical name is one of the
gold spellings (compared case- and punctuation-insensitively); names listed as optional count
neither way. Figures are scored on distinct (value, unit) per article. Quotations
(quotes_eval.py) are scored on how many are found, how many found are quotations, and
whether the speaker of a found one is the person the gold names. Geographic focus
(focus_eval.py) is scored on the main country, the countries and the places, beside the
most-mentioned rule. Run with `nox -s evaluate` (or `python -m newspack.dev.evaluate`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newspack.config import GOLD_DIR, REPO_DUMPS_DIR
from newspack.dev.focus_eval import (
    FocusScore,
    load_focus_gold,
    most_mentioned,
    predicted_focus,
    print_focus,
    score_focus,
)
from newspack.dev.quotes_eval import (
    QuoteScore,
    baseline_quotes,
    load_quote_gold,
    print_quotes,
    score_quotes,
)
from newspack.ingest.find import find_dumps
from newspack.tables.frames import records
from newspack.tables.ids import ID_PREFIXES, identity_key

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


def _print(title: str, result: Score, details: bool = True) -> None:
    print(title)
    print(f"  precision {result.precision:.3f}  recall {result.recall:.3f}  F1 {result.f1:.3f}")
    print(
        f"  true positives {result.true_positives}, false positives "
        f"{len(result.false_positives)}, false negatives {len(result.false_negatives)}"
    )
    if not details:
        return
    for label, items in (
        ("false positive", result.false_positives),
        ("false negative", result.false_negatives),
    ):
        for article_id, (first, second) in items:
            print(f"  {label}: {article_id} {first} {second}")


# --- gold sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldSet:
    """Dumps with hand-made gold lists. `role` says how a set may be used: "dev" sets may
    guide the rules, "test" sets are only ever scored."""

    name: str
    role: str
    dumps: Path
    entities: Path
    figures: Path

    @property
    def quotes(self) -> Path:
        return self.entities.with_name("quotes.yaml")

    @property
    def focus(self) -> Path:
        return self.entities.with_name("focus.yaml")


GOLD_SETS = (
    GoldSet("seed", "dev", REPO_DUMPS_DIR, GOLD_DIR / "entities.yaml", GOLD_DIR / "figures.yaml"),
    GoldSet(
        "dev",
        "dev",
        GOLD_DIR / "dev" / "dumps",
        GOLD_DIR / "dev" / "entities.yaml",
        GOLD_DIR / "dev" / "figures.yaml",
    ),
    GoldSet(
        "test",
        "test",
        GOLD_DIR / "test" / "dumps",
        GOLD_DIR / "test" / "entities.yaml",
        GOLD_DIR / "test" / "figures.yaml",
    ),
)
HEADERLESS_KEY = "HEADERLESS: "  # gold key of an article without a title: its first bullet


def _article_ids(keys, tables: dict) -> dict[str, str]:
    """Gold key -> article_id: keys are IDs, exact titles, or "HEADERLESS: first bullet"."""
    versions = tables["article_versions"]
    by_title = {
        identity_key(t): a for a, t in zip(versions["article_id"], versions["title"], strict=True)
    }
    bullets = tables["bullets"]
    first = bullets[bullets["position"] == 1]
    by_bullet = {
        identity_key(t): a for a, t in zip(first["article_id"], first["text"], strict=True)
    }
    ids = {}
    for key in keys:
        if key.startswith(ID_PREFIXES["article"]):
            ids[key] = key
        elif key.startswith(HEADERLESS_KEY):
            ids[key] = by_bullet.get(identity_key(key.removeprefix(HEADERLESS_KEY)), key)
        else:
            ids[key] = by_title.get(identity_key(key), key)
    return ids


def _rekeyed(gold: dict, ids: dict[str, str]) -> dict:
    return {ids[key]: value for key, value in gold.items()}


def by_type(gold: dict[str, dict], found: dict[str, set[Pair]], entity_type: str) -> Score:
    """The score of one entity type alone."""
    typed_gold = {
        a: {
            "entities": [g for g in e["entities"] if g[0] == entity_type],
            "optional": e["optional"],
        }
        for a, e in gold.items()
    }
    typed_found = {a: {p for p in pairs if p[0] == entity_type} for a, pairs in found.items()}
    return score(typed_gold, typed_found)


def bare_model_pairs(tables: dict) -> dict[str, set[Pair]]:
    """What spaCy's model alone finds: its entity spans as they are, per article, over the
    same texts the pipeline reads (titles, bullets, body paragraphs, captions)."""
    from newspack.ingest.sources import sources
    from newspack.nlp.model import ENTITY_TYPES, load_model

    found: dict[str, set[Pair]] = defaultdict(set)
    srcs = sources(tables)
    docs = load_model().pipe([s.text for s in srcs], batch_size=64)
    for src, doc in zip(srcs, docs, strict=True):
        found[src.article_id] |= {
            (ent.label_, ent.text) for ent in doc.ents if ent.label_ in ENTITY_TYPES
        }
    return found


@dataclass
class SetResult:
    gold_set: GoldSet
    pipeline: Score
    bare: Score
    pipeline_by_type: dict[str, Score]
    bare_by_type: dict[str, Score]
    figures: Score
    quotes: QuoteScore | None = None
    quotes_baseline: QuoteScore | None = None
    focus: FocusScore | None = None
    focus_baseline: FocusScore | None = None  # the most-mentioned country (and place)


def evaluate_set(gold_set: GoldSet) -> SetResult:
    """Build the set's dumps (in memory) and score the pipeline and the bare model."""
    from newspack import pipeline

    paths, _ = find_dumps(gold_set.dumps)
    tables = pipeline.build_tables(pipeline.process_dumps(paths))
    rows = {table: records(frame) for table, frame in tables.items()}
    entity_gold = load_gold(gold_set.entities)
    figure_gold = load_figure_gold(gold_set.figures)
    quote_gold = load_quote_gold(gold_set.quotes) if gold_set.quotes.exists() else {}
    ids = _article_ids(entity_gold.keys() | figure_gold.keys() | quote_gold.keys(), tables)
    entity_gold, figure_gold = _rekeyed(entity_gold, ids), _rekeyed(figure_gold, ids)
    found = predicted_pairs(rows["entities"], rows["mentions"])
    bare = bare_model_pairs(tables)
    types = sorted({g[0] for e in entity_gold.values() for g in e["entities"]})
    focus_gold = load_focus_gold(gold_set.focus) if gold_set.focus.exists() else {}
    focus_gold = _rekeyed(focus_gold, _article_ids(focus_gold.keys(), tables))
    return SetResult(
        gold_set,
        score(entity_gold, found),
        score(entity_gold, bare),
        {t: by_type(entity_gold, found, t) for t in types},
        {t: by_type(entity_gold, bare, t) for t in types},
        score_figures(figure_gold, figure_pairs(rows["figures"])),
        score_quotes(_rekeyed(quote_gold, ids), rows["quotes"]) if quote_gold else None,
        score_quotes(_rekeyed(quote_gold, ids), baseline_quotes(tables)) if quote_gold else None,
        score_focus(focus_gold, predicted_focus(tables)) if focus_gold else None,
        score_focus(focus_gold, most_mentioned(tables)) if focus_gold else None,
    )


def _report(result: SetResult, details: bool) -> None:
    name, role = result.gold_set.name, result.gold_set.role
    print(f"== {name} ({role} set: {result.gold_set.dumps}) ==")
    print(f"{'entities':<10} {'bare model P/R/F1':>22}   {'pipeline P/R/F1':>22}")
    rows = [("all", result.bare, result.pipeline)] + [
        (t, result.bare_by_type[t], result.pipeline_by_type[t]) for t in result.pipeline_by_type
    ]
    for label, bare, ours in rows:
        print(
            f"{label:<10} {bare.precision:6.3f} {bare.recall:6.3f} {bare.f1:6.3f}   "
            f"   {ours.precision:6.3f} {ours.recall:6.3f} {ours.f1:6.3f}"
        )
    if details:
        _print("pipeline entities", result.pipeline)
    _print("figures (distinct value and unit per article)", result.figures, details)
    if result.quotes:
        print_quotes(result.quotes, result.quotes_baseline, details)
    if result.focus:
        print_focus(result.focus, result.focus_baseline, details)
    print()


def main(argv: list[str] | None = None) -> None:
    """Score every gold set (or those named); --details lists each error."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    details = "--details" in args
    names = [a for a in args if not a.startswith("--")]
    for gold_set in GOLD_SETS:
        if not names or gold_set.name in names:
            _report(evaluate_set(gold_set), details)


if __name__ == "__main__":
    main()
