"""Development, evaluation (focus): the article_focus table against the hand-made focus gold.

The gold (tests/gold/**/focus.yaml, conventions in tests/gold/FOCUS_CONVENTIONS.md) gives
each article's countries, main first, and the places below country level where its story
happens, as written. Three figures, for the pipeline and for the most-mentioned rule beside
it (the country, and the place below country level, with the most mentions in the article's
latest version):

- rank-1 accuracy: the main country is the gold's first;
- among countries: the main country is one of the gold's;
- place agreement: the places named by the rows (one per country at most) are all gold
  places, and there is one exactly where the gold has any (a national story has none).
  A place matches a gold string by the entity's name or one of its spellings in the text.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newspack.tables.frames import records
from newspack.tables.ids import identity_key


@dataclass(frozen=True)
class GoldFocus:
    countries: tuple[str, ...]
    places: frozenset[str]  # identity keys


@dataclass
class FocusScore:
    articles: int = 0
    main_right: int = 0
    among: int = 0
    places_agree: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (article, got, want)

    @property
    def main_accuracy(self) -> float:
        return self.main_right / self.articles if self.articles else 0.0

    @property
    def among_share(self) -> float:
        return self.among / self.articles if self.articles else 0.0

    @property
    def place_agreement(self) -> float:
        return self.places_agree / self.articles if self.articles else 0.0


def load_focus_gold(path: Path) -> dict[str, GoldFocus]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        key: GoldFocus(
            tuple(entry["countries"]), frozenset(identity_key(p) for p in entry["places"] or [])
        )
        for key, entry in raw.items()
    }


@dataclass(frozen=True)
class Predicted:
    countries: tuple[str, ...]
    places: tuple[frozenset[str], ...]  # each place's names (identity keys)


def _names(entity: dict) -> frozenset[str]:
    forms = [entity["name"], *(entity["aliases"] or "").split("; ")]
    return frozenset(identity_key(f) for f in forms if f)


def predicted_focus(tables: dict) -> dict[str, Predicted]:
    """article_id -> the pipeline's countries and places (article_focus)."""
    entities = {e["entity_id"]: e for e in records(tables["entities"])}
    rows = sorted(records(tables["article_focus"]), key=lambda r: (r["article_id"], r["rank"]))
    found: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in rows:
        countries, places = found[row["article_id"]]
        countries.append(row["country_code"])
        if row["place_kind"] in ("city", "subdivision"):
            places.append(_names(entities[row["place_entity_id"]]))
    return {a: Predicted(tuple(c), tuple(p)) for a, (c, p) in found.items()}


def most_mentioned(tables: dict) -> dict[str, Predicted]:
    """The baseline: the country with the most mentions of the article's latest version (a
    place's mention counts for its country), and the place below country level with most."""
    entities = {e["entity_id"]: e for e in records(tables["entities"])}
    latest = tables["articles"].set_index("article_id")["canonical_version"].to_dict()
    countries: dict[str, Counter] = defaultdict(Counter)
    below: dict[str, Counter] = defaultdict(Counter)
    for m in records(tables["mentions"]):
        entity = entities[m["entity_id"]]
        if m["version"] != latest[m["article_id"]] or not entity["country_code"]:
            continue
        countries[m["article_id"]][entity["country_code"]] += 1
        if entity["place_kind"] != "country":
            below[m["article_id"]][m["entity_id"]] += 1
    result = {}
    for article_id, counts in countries.items():
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        places = below[article_id]
        best = sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))[:1]
        result[article_id] = Predicted((top,), tuple(_names(entities[e]) for e, _ in best))
    return result


def _places_agree(got: Predicted, want: GoldFocus) -> bool:
    if not want.places:
        return not got.places
    return bool(got.places) and all(names & want.places for names in got.places)


def score_focus(gold: dict[str, GoldFocus], found: dict[str, Predicted]) -> FocusScore:
    result = FocusScore()
    for article_id, want in gold.items():
        got = found.get(article_id, Predicted((), ()))
        result.articles += 1
        main = got.countries[0] if got.countries else None
        result.main_right += main == want.countries[0]
        result.among += main in want.countries
        agree = _places_agree(got, want)
        result.places_agree += agree
        if main != want.countries[0] or not agree:
            got_places = [sorted(p)[0] for p in got.places]
            result.errors.append(
                (
                    article_id,
                    f"{list(got.countries)} {got_places}",
                    f"{list(want.countries)} {sorted(want.places)}",
                )
            )
    return result


def print_focus(ours: FocusScore, baseline: FocusScore, details: bool) -> None:
    print(f"focus ({ours.articles} articles)      most-mentioned   pipeline")
    for label, attr in (
        ("rank-1 country", "main_accuracy"),
        ("among countries", "among_share"),
        ("place agreement", "place_agreement"),
    ):
        print(f"  {label:<24} {getattr(baseline, attr):6.3f}       {getattr(ours, attr):6.3f}")
    if details:
        for article_id, got, want in ours.errors:
            print(f"  focus error: {article_id} got {got}, gold {want}")
