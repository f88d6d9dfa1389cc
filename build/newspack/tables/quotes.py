"""Stage 6, enrich (quotes): direct quotations and who the text says spoke them.

A quotation is text between curly (or straight) double quotes, of three words or more; one
left open runs to the end of its paragraph, as quotes running over paragraphs do. The
speaker is read from the words around it: "..., Khan said", "..., said Tarar",
"Tarar said “...”", "the NEOC said in a statement"; "he"/"she"/"it" is the previous
quotation's speaker, and a quotation with no attribution takes that of another quotation in
its paragraph. A speaker that is a mention of an entity is linked to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newspack.rules import derived, load_rules
from newspack.tables.ids import text_item_id

MIN_QUOTE_WORDS = 3
_QUOTE = re.compile(r"“(?P<q>[^“”]+)(?:”|$)|\"(?P<s>[^\"]+)(?:\"|$)")
_SPEAKER = r"(?P<speaker>(?:the\s+|a\s+)?[\w’'.-]+(?:\s+[\w’'.-]+){0,5}?)"
_SPEAKER_END = r"(?=\s*(?:[,.;:]|$|\s+(?:in|on|during|at|after|without|who|according)\b))"


@derived
def _attributions() -> dict[str, re.Pattern[str]]:
    """The patterns of "..., said X", "..., X said" and "X said: ..." (rules/quotes.yaml)."""
    verbs = "|".join(map(re.escape, load_rules("quotes")["speech_verbs"]))
    return {
        "after_verb_first": re.compile(rf"^[\s,]*(?:{verbs})\s+{_SPEAKER}{_SPEAKER_END}"),
        "after_speaker_first": re.compile(rf"^[\s,]*{_SPEAKER}\s+(?:{verbs})\b"),
        "before": re.compile(rf"{_SPEAKER}\s+(?:{verbs})(?:\s+that)?[\s:,]*$"),
    }


_PRONOUNS = {"he", "she", "it", "they"}


@dataclass
class Quote:
    start: int
    end: int
    speaker: str | None
    speaker_start: int | None = None


def _clean_speaker(match: re.Match[str], offset: int) -> tuple[str | None, int | None]:
    speaker = match["speaker"].strip().rstrip(".")
    if re.search(r"[.;:!?]\s", speaker):
        return None, None  # the phrase ran over a sentence end: no speaker there
    return speaker, offset + match.start("speaker")


def _speaker_around(text: str, start: int, end: int) -> tuple[str | None, int | None]:
    after = text[end:].lstrip('”"')
    offset = len(text) - len(after)
    patterns = _attributions()
    for pattern in (patterns["after_verb_first"], patterns["after_speaker_first"]):
        if match := pattern.match(after):
            return _clean_speaker(match, offset)
    before = text[: max(start - 1, 0)]
    if match := _attributions()["before"].search(before):
        return _clean_speaker(match, 0)
    return None, None


def extract(text: str) -> list[Quote]:
    quotes = []
    for match in _QUOTE.finditer(text):
        group = "q" if match["q"] is not None else "s"
        start, end = match.span(group)
        body = text[start:end].strip()
        if len(body.split()) < MIN_QUOTE_WORDS:
            continue
        start += len(text[start:end]) - len(text[start:end].lstrip())
        end = start + len(body)
        speaker, speaker_start = _speaker_around(text, start, match.end())
        quotes.append(Quote(start, end, speaker, speaker_start))
    # “Trade corridors ...,” he added. “Pakistan is keen ...”: one speaker per paragraph.
    attributed = [q for q in quotes if q.speaker]
    for quote in quotes:
        if not quote.speaker and attributed:
            nearest = min(attributed, key=lambda q: abs(q.start - quote.start))
            quote.speaker, quote.speaker_start = nearest.speaker, nearest.speaker_start
    return quotes


def _entity_for(speaker_start, speaker, mentions_here) -> str | None:
    if speaker_start is None:
        return None
    speaker_end = speaker_start + len(speaker)
    for mention in mentions_here:
        if mention["start"] < speaker_end and speaker_start < mention["end"]:
            return mention["entity_id"]
    return None


def quote_rows(src_list, mention_rows: list[dict]) -> list[dict]:
    """Rows of the quotes table (bullets and body paragraphs)."""
    by_text: dict[tuple, list[dict]] = {}
    for m in mention_rows:
        key = (m["article_id"], m["version"], m["source"], m["source_position"])
        by_text.setdefault(key, []).append(m)
    rows: list[dict] = []
    last_speaker: dict[tuple, tuple[str | None, str | None]] = {}
    for src in src_list:
        if src.source not in ("bullet", "paragraph"):
            continue
        key = (src.article_id, src.version, src.source, src.position)
        for quote in extract(src.text):
            speaker, entity_id = quote.speaker, None
            if speaker and speaker.lower() in _PRONOUNS:
                speaker, entity_id = last_speaker.get((src.article_id, src.version), (None, None))
            elif speaker:
                entity_id = _entity_for(quote.speaker_start, speaker, by_text.get(key, []))
            if speaker:
                last_speaker[(src.article_id, src.version)] = (speaker, entity_id)
            rows.append(
                {
                    "quote_id": text_item_id("quote", *key, quote.start),
                    **src.placement(),
                    "start": quote.start,
                    "end": quote.end,
                    "quotation": src.text[quote.start : quote.end],
                    "speaker": speaker,
                    "speaker_entity_id": entity_id,
                }
            )
    return rows
