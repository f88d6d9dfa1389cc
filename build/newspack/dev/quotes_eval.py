"""Development, evaluation (quotations): found, precision and speaker accuracy against gold.

The gold (tests/gold/**/quotes.yaml) lists each article's quotations by their first words,
with the speaker a careful reader names (all the forms the article gives), whether the
article names the speaker at all, and the kind (person, organisation, or none for quoted
words that are not speech). A published quotation matches a gold one when it starts with
the gold's words (compared as identity keys: case, quotes and punctuation ignored).

- found: gold quotations of speech that the table has;
- precision: published quotations that are gold quotations (speech or not);
- speaker right: found quotations whose speaker is one of the gold forms (named ones), or
  empty (where the article names no one); wrong when another speaker is given.

The baseline beside it is the surface patterns alone ("..., said X", "X said: ...", the
speaker as written, "he" as the last speaker), the rules the quotes table had before the
sieve, run on the same quotations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from newspack.tables.ids import identity_key


@dataclass(frozen=True)
class GoldQuote:
    start_words: str  # identity key of the first words
    speakers: frozenset[str]  # identity keys of the speaker's forms; empty when unnamed
    named: bool
    speech: bool


@dataclass
class QuoteScore:
    gold_speech: int = 0
    found: int = 0
    published: int = 0
    published_in_gold: int = 0
    named_found: int = 0
    named_right: int = 0
    named_wrong: list[tuple[str, str, str]] = field(default_factory=list)  # (quote, got, want)
    named_empty: list[tuple[str, str]] = field(default_factory=list)
    unnamed_found: int = 0
    unnamed_right: int = 0
    missed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def found_share(self) -> float:
        return self.found / self.gold_speech if self.gold_speech else 0.0

    @property
    def precision(self) -> float:
        return self.published_in_gold / self.published if self.published else 0.0

    @property
    def speaker_right(self) -> float:
        """Of the found quotations whose article names the speaker, the share given right."""
        return self.named_right / self.named_found if self.named_found else 0.0


def load_quote_gold(path: Path) -> dict[str, list[GoldQuote]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        key: [
            GoldQuote(
                identity_key(entry["quote"]),
                frozenset(identity_key(f) for f in (entry.get("speaker") or "").split("|") if f),
                bool(entry.get("named")),
                entry.get("kind") != "none",
            )
            for entry in entries or []
        ]
        for key, entries in raw.items()
    }


def _latest(quotes: pd.DataFrame | list[dict]) -> dict[str, dict[str, str | None]]:
    """article_id -> quotation key -> speaker, from each quotation's latest version."""
    rows = quotes.to_dict("records") if isinstance(quotes, pd.DataFrame) else quotes
    found: dict[str, dict[str, tuple[int, str | None]]] = defaultdict(dict)
    for row in rows:
        key = identity_key(row["quotation"])
        speaker = row["speaker"] if isinstance(row["speaker"], str) else None
        known = found[row["article_id"]].get(key)
        if known is None or row["version"] >= known[0]:
            found[row["article_id"]][key] = (row["version"], speaker)
    return {a: {k: v[1] for k, v in q.items()} for a, q in found.items()}


def score_quotes(gold: dict[str, list[GoldQuote]], quotes) -> QuoteScore:
    result = QuoteScore()
    published = _latest(quotes)
    for article_id, expected in gold.items():
        have = published.get(article_id, {})
        result.published += len(have)
        result.published_in_gold += sum(
            any(k.startswith(g.start_words) for g in expected) for k in have
        )
        for g in expected:
            match = next((k for k in have if k.startswith(g.start_words)), None)
            if g.speech:
                result.gold_speech += 1
                result.found += match is not None
            if match is None:
                if g.speech:
                    result.missed.append((article_id, g.start_words[:50]))
                continue
            _score_speaker(result, g, match, have[match])
    return result


def _score_speaker(result: QuoteScore, g: GoldQuote, quotation: str, speaker) -> None:
    got = identity_key(speaker) if speaker else None
    want = min(g.speakers, default="(gold names no form)")
    if g.named:
        result.named_found += 1
        if got in g.speakers:
            result.named_right += 1
        elif got:
            result.named_wrong.append((quotation[:50], speaker, want))
        else:
            result.named_empty.append((quotation[:50], want))
    elif g.speech:
        result.unnamed_found += 1
        result.unnamed_right += got is None


def baseline_quotes(tables: dict) -> list[dict]:
    """The quotations with the surface patterns' speakers: the baseline."""
    from newspack.ingest.sources import sources
    from newspack.tables.quotes import quotations, surface_speaker

    rows = []
    last: dict[tuple, str] = {}
    for src in sources(tables):
        if src.source not in ("bullet", "paragraph"):
            continue
        found = []
        for quote in quotations(src.text):
            phrase = surface_speaker(src.text, quote)
            speaker = phrase[0] if phrase else None
            if speaker and speaker.lower() in {"he", "she", "it", "they"}:
                speaker = last.get((src.article_id, src.version))
            if speaker:
                last[(src.article_id, src.version)] = speaker
            found.append([quote, speaker])
        named = [(q, s) for q, s in found if s]
        for pair in found:
            if not pair[1] and named:
                pair[1] = min(named, key=lambda n: abs(n[0].start - pair[0].start))[1]
            rows.append(
                {
                    "article_id": src.article_id,
                    "version": src.version,
                    "quotation": src.text[pair[0].start : pair[0].end],
                    "speaker": pair[1],
                }
            )
    return rows


def print_quotes(ours: QuoteScore, baseline: QuoteScore, details: bool) -> None:
    print(f"{'quotations':<22} {'baseline':>9} {'pipeline':>9}")
    lines = [
        ("found", lambda s: s.found_share, f"of {ours.gold_speech}"),
        ("precision", lambda s: s.precision, f"of {ours.published} published"),
        ("named speaker right", lambda s: s.speaker_right, f"of {ours.named_found} found"),
        (
            "unnamed left empty",
            lambda s: s.unnamed_right / s.unnamed_found if s.unnamed_found else 0.0,
            f"of {ours.unnamed_found} found",
        ),
    ]
    for label, value, note in lines:
        print(f"{label:<22} {value(baseline):9.3f} {value(ours):9.3f}   {note}")
    print(
        f"  named speakers: {ours.named_right} right, {len(ours.named_wrong)} wrong, "
        f"{len(ours.named_empty)} empty"
    )
    if not details:
        return
    for quotation, got, want in ours.named_wrong:
        print(f"  wrong speaker: {quotation!r}: {got!r}, gold {want!r}")
    for quotation, want in ours.named_empty:
        print(f"  no speaker: {quotation!r}: gold {want!r}")
    for article_id, quotation in ours.missed:
        print(f"  missed quotation: {article_id} {quotation!r}")
