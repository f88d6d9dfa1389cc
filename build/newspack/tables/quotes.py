"""Stage 6, enrich (quotes): direct quotations and the speaker a reader would name.

A quotation is text between curly (or straight) double quotes, of three words or more; one
left open runs to the end of its paragraph, as quotes running over paragraphs do. Single
curly quotes mark a quotation in a title ("... is ‘our second home’ – Envoy") and in a text
with no double quotes (a subheading); inside double quotes they quote within a quotation.

Who spoke it is decided by a sieve, each step a general rule, the first sure one winning
(speaker_rule says which; speakers.py resolves the phrase a step finds):

1. the speech cue of the quotation's own sentence, from the parse (nlp/attribution.py): the
   subject of the speech verb right after the quotation ("..., said X", "..., X told Arab
   News") or before it ("X said: ...", "according to X, ..."); the subject is a name
   (`parse_subject`), a pronoun (`pronoun`), a description of a post the article gives a
   person (`role`), or an organisation or its statement (`organisation`);
2. the surface patterns when the parse gives no subject (`explicit`);
3. in a title, the name or post after a closing dash or colon (`title`);
4. a quotation with no cue of its own takes the speaker of another quotation of its
   paragraph, or of the previous paragraph's last attribution ("X told Arab News:" then the
   quotation; a quotation running over paragraphs) (`continuation`).

The speaker is the entity's canonical name (the full name the article gives, never a
fragment), linked to its entity; the role is the post the text gives the speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newspack.ingest.sources import Source
from newspack.nlp.attribution import SpeechCue
from newspack.rules import derived, load_rules
from newspack.tables.ids import text_item_id
from newspack.tables.speakers import Speaker, SpeakerContext, as_rule

MIN_QUOTE_WORDS = 3
_QUOTE = re.compile(r"“(?P<q>[^“”]+)(?:”|$)|\"(?P<s>[^\"]+)(?:\"|$)")
# A quotation in single curly quotes (titles, texts without double quotes): opened after a
# space or the start, closed before a non-letter (an apostrophe inside a word is never its end).
_TITLE_QUOTE = re.compile(r"(?:^|(?<=\s))‘(?P<t>[^‘’]+(?:’\w[^‘’]*)*)’(?!\w)")
_TITLE_AFTER = re.compile(r"\s[–—-]\s+(?P<speaker>[^–—:‘’“”]{2,60}?)\s*$")
_TITLE_BEFORE = re.compile(r"^(?P<speaker>[^:‘’“”]{2,40}):\s")
_SPEAKER = r"(?P<speaker>(?:the\s+|a\s+)?[\w’'.-]+(?:\s+[\w’'.-]+){0,5}?)"
_SPEAKER_END = r"(?=\s*(?:[,.;:]|$|\s+(?:in|on|during|at|after|without|who|according)\b))"
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
CUE_REACH = 200  # characters between a quotation and its cue's verb, at most


@derived
def _speech_verbs() -> tuple[str, ...]:
    return tuple(load_rules("quotes")["speech_verbs"])


@derived
def _attributions() -> dict[str, re.Pattern[str]]:
    """The patterns of "..., said X", "..., X said" and "X said: ..." (rules/quotes.yaml)."""
    verbs = "|".join(map(re.escape, _speech_verbs()))
    return {
        "after_verb_first": re.compile(rf"^[\s,]*(?P<verb>{verbs})\s+{_SPEAKER}{_SPEAKER_END}"),
        "after_speaker_first": re.compile(rf"^[\s,]*{_SPEAKER}\s+(?P<verb>{verbs})\b"),
        "before": re.compile(rf"{_SPEAKER}\s+(?P<verb>{verbs})(?:\s+that)?[\s:,]*$"),
    }


@dataclass
class Quote:
    start: int  # the quoted words, without the marks
    end: int
    open_at: int  # the marks
    close_at: int
    speaker: Speaker | None = None
    cue: str | None = None
    used: SpeechCue | None = None  # the cue that attributes it
    is_name: bool = False  # a quoted title of a work or a slogan ("The Kingdom of Sand")


def quotations(text: str, in_title: bool = False) -> list[Quote]:
    """The quotations of one text, three words or more."""
    # Single quotes quote in titles, and in texts that use no double quotes at all; inside
    # double quotes they mark a quotation within the quotation.
    single = "‘" in text and (in_title or not any(mark in text for mark in '“”"'))
    pattern = _TITLE_QUOTE if single else _QUOTE
    found = []
    for match in pattern.finditer(text):
        group = next(g for g in ("q", "s", "t") if match.groupdict().get(g) is not None)
        start, end = match.span(group)
        body = text[start:end].strip()
        if len(body.split()) < MIN_QUOTE_WORDS:
            continue
        start += len(text[start:end]) - len(text[start:end].lstrip())
        found.append(Quote(start, start + len(body), match.start(), match.end()))
    return found


def _inside(at: int, quotes: list[Quote]) -> bool:
    return any(q.open_at <= at < q.close_at for q in quotes)


def _cue_for(text: str, quote: Quote, quotes: list[Quote], cues) -> SpeechCue | None:
    """The speech cue of the quotation's sentence nearest to it, outside every quotation:
    after it with no sentence end between, else before it, up to a colon or a comma. A
    speech verb before it wins over an "according to" after it ("X said Tabuk “...,”
    according to SPA": X spoke, the agency reported it)."""
    outside = [c for c in cues if not _inside(c.verb_start, quotes)]
    ended = _ends_sentence(text, quote)
    after = [
        c
        for c in outside
        if not ended
        and quote.close_at <= c.verb_start <= quote.close_at + CUE_REACH
        and not _SENTENCE_END.search(text[quote.close_at : c.verb_start])
        and not _inside_between(quote.close_at, c.verb_start, quotes)
    ]
    before = [
        c
        for c in outside
        if c.verb_end <= quote.open_at
        and not _SENTENCE_END.search(text[c.verb_end : quote.open_at].rstrip())
        and not _inside_between(c.verb_end, quote.open_at, quotes)
    ]
    first_after = min(after, key=lambda c: c.verb_start) if after else None
    last_before = max(before, key=lambda c: c.verb_end) if before else None
    if first_after and (first_after.verb != "according to" or last_before is None):
        return first_after
    return last_before


def _ends_sentence(text: str, quote: Quote) -> bool:
    """The quotation closes its sentence: it ends with a full stop, question or exclamation
    mark and a capital starts what follows (“... in the area.” Gaza's ministry said ...);
    “Are you sure?” he asked goes on."""
    closes = text[quote.start : quote.end].rstrip()[-1:] in (".", "!", "?")
    after = text[quote.close_at :].lstrip(' ”"’')
    return closes and (not after or after[:1].isupper())


def _inside_between(start: int, end: int, quotes: list[Quote]) -> bool:
    """Another quotation lies between two points (its cue belongs to it)."""
    return any(start <= q.open_at and q.close_at <= end for q in quotes)


def surface_speaker(text: str, quote: Quote) -> tuple[str, int, str] | None:
    """The speaker phrase of the surface patterns ("..., said X"), its offset and verb."""
    after = text[quote.close_at :]
    patterns = _attributions()
    for name in () if _ends_sentence(text, quote) else ("after_verb_first", "after_speaker_first"):
        if match := patterns[name].match(after):
            return _phrase(match, quote.close_at)
    head = text[: quote.open_at]
    if may_end_with_cue(head) and (match := patterns["before"].search(head)):
        return _phrase(match, 0)
    return None


def may_end_with_cue(head: str) -> bool:
    """Whether a text can end as "X said:" does (a speech verb, "that" perhaps, then spaces,
    colons or commas): the one test the "before" pattern can pass, made from the end, as
    searching the pattern from every position of a long text costs many times more."""
    end = len(head)
    while end and (head[end - 1].isspace() or head[end - 1] in ":,"):
        end -= 1
    core = head[:end]
    if core.endswith("that") and core[:-4][-1:].isspace():
        return core.endswith(_speech_verbs()) or core[:-4].rstrip().endswith(_speech_verbs())
    return core.endswith(_speech_verbs())


def _phrase(match: re.Match[str], offset: int) -> tuple[str, int, str] | None:
    speaker = match["speaker"].strip().rstrip(".")
    if re.search(r"[.;:!?]\s", speaker):
        return None  # the phrase ran over a sentence end
    return speaker, offset + match.start("speaker"), match["verb"].lower()


def _attribute(src: Source, quote: Quote, quotes, analysis, mentions, ctx) -> None:
    """Steps 1-2 of the sieve for one quotation."""
    text = src.text
    quote.is_name = _is_title_case(text[quote.start : quote.end])
    if quote.is_name:
        return
    cue = _cue_for(text, quote, quotes, analysis.cues)
    if cue:
        quote.cue, quote.used = cue.verb, cue
        quote.speaker = _cue_speaker(text, cue, mentions, ctx)
    if quote.speaker is None and (found := surface_speaker(text, quote)):
        quote.speaker = ctx.resolve(found[0], found[1], mentions, "explicit")
        quote.cue = quote.cue or found[2]


def _is_title_case(quotation: str) -> bool:
    """Every word of four letters or more capitalised, no sentence punctuation: the title
    of a film, a book or a campaign, not speech."""
    words = re.findall(r"[\w’'-]+", quotation)
    long = [w for w in words if len(w) >= 4]
    capitalised = bool(long) and all(w[:1].isupper() for w in long)
    return capitalised and not re.search(r"[.,;!?]", quotation)


def _cue_speaker(text: str, cue: SpeechCue, mentions, ctx: SpeakerContext) -> Speaker | None:
    """Who a cue's subject is: its noun phrase resolved; else the one name its whole
    phrase holds ("KSrelief’s regional director, Dr. Saeed Al-Shahrani"); a document's
    issuer ("a statement from the center"); the name right before the verb where the parse
    gave it no subject."""
    if cue.subject_start is None:
        return ctx.name_before(cue.verb_start, mentions)
    role = text[cue.role_start : cue.role_end] if cue.role_start is not None else None
    phrase = text[cue.subject_start : cue.subject_end]
    if cue.issuer_start is not None and ctx.is_document(phrase):
        issuer = text[cue.issuer_start : cue.issuer_end]
        if found := ctx.resolve(issuer, cue.issuer_start, mentions, "organisation"):
            return as_rule(found, "organisation")
    speaker = ctx.resolve(phrase, cue.subject_start, mentions, "parse_subject", role)
    if speaker is None and cue.role_start is not None:
        # "KSrelief’s regional director, Dr. Saeed Al-Shahrani": the name set beside the
        # description (never a name inside it: "Imran Khan’s lawyer" is not Imran Khan)
        speaker = ctx.one_name_in(cue.role_start, cue.role_end, mentions)
    if speaker is None and ctx.is_post(phrase) and cue.tree_start is not None:
        # "Minister for Overseas Pakistanis ... Chaudhry Salik Hussain": a post the parse
        # made the head, its holder named within it
        speaker = ctx.one_name_in(cue.tree_start, cue.tree_end, mentions, (("PERSON",),))
    return speaker


def _title_speaker(text: str, quote: Quote, mentions, ctx: SpeakerContext) -> None:
    """Step 3: "...‘quoted’ – Envoy" or "PM: ‘quoted’" names the speaker of a title."""
    if match := _TITLE_AFTER.search(text, quote.close_at):
        phrase, at, cue = match["speaker"], match.start("speaker"), "dash"
    elif match := _TITLE_BEFORE.match(text[: quote.open_at]):
        phrase, at, cue = match["speaker"], match.start("speaker"), "colon"
    else:
        return
    if speaker := ctx.resolve(phrase, at, mentions, "title"):
        quote.speaker, quote.cue = as_rule(speaker, "title"), cue


def _continue(quotes: list[Quote], ctx: SpeakerContext) -> None:
    """Step 4: a quotation without a speaker takes its paragraph's or the one before's."""
    attributed = [q for q in quotes if q.speaker]
    for quote in quotes:
        if quote.speaker or quote.cue is not None or quote.is_name:
            continue
        if attributed:
            nearest = min(attributed, key=lambda q: abs(q.start - quote.start))
            quote.speaker = as_rule(nearest.speaker, "continuation")
        elif quote.open_at <= 1 and (recent := ctx.recent_speaker(1)):
            quote.speaker = as_rule(recent, "continuation")
            ctx.spoke(recent)  # a quotation running over paragraphs: still the speaker


def _events(src: Source, analysis, quotes: list[Quote]) -> list[tuple[int, str, object]]:
    """What one text says, in the order it says it: sentence subjects (who the text is
    about), attributions outside any quotation ("X told Arab News:", "X said the ..."),
    and quotations."""
    events = [(s.start, "subject", s) for s in analysis.subjects]
    for cue in analysis.cues:
        if not _inside(cue.verb_start, quotes):
            at = cue.verb_start if cue.subject_start is None else cue.subject_start
            events.append((at, "cue", cue))
    events += [(q.open_at, "quote", q) for q in quotes]
    order = {"subject": 0, "cue": 1, "quote": 2}
    return sorted(events, key=lambda e: (e[0], order[e[1]]))


def _read(src: Source, analysis, mentions, ctx: SpeakerContext) -> list[Quote]:
    """One text, event by event: its quotations, attributed. A caption is only read: it
    says who people are ("Ambassador X (center) ..."), and quotes no one."""
    ctx.read_text(src.text, mentions, analysis.appositions)
    if src.source == "caption":
        return []
    quotes = quotations(src.text, in_title=src.source == "title")
    for _, kind, item in _events(src, analysis, quotes):
        if kind == "subject":
            ctx.focus_on(item.start, item.end, mentions)
        elif kind == "cue":
            if any(q.used is item for q in quotes):
                continue  # a quotation's own attribution: counted with it
            if speaker := _cue_speaker(src.text, item, mentions, ctx):
                ctx.spoke(speaker)
        else:
            _attribute(src, item, quotes, analysis, mentions, ctx)
            if item.speaker:
                ctx.spoke(item.speaker)
    _continue(quotes, ctx)
    return quotes


def version_quotes(texts: list[tuple[Source, object, list[dict]]], ctx: SpeakerContext):
    """(source, quote) of one article version's texts (source, analysis, mentions), read in
    order: what a text says about speakers is known to the texts after it. A description
    the text has not yet tied to anyone ("the envoy said" in the lead, the name a paragraph
    later) and a title's own speaker ("... – Envoy") are resolved again at the end, when
    the article has said who holds the post."""
    found = []
    for src, analysis, mentions in texts:
        quotes = _read(src, analysis, mentions, ctx)
        found += [(src, q, mentions) for q in quotes]
    for src, quote, mentions in found:
        cue = quote.used
        if quote.speaker is None and cue is not None and cue.subject_start is not None:
            phrase = src.text[cue.subject_start : cue.subject_end]
            quote.speaker = ctx.resolve_described(phrase)
        if quote.speaker is None and src.source == "title":
            _title_speaker(src.text, quote, mentions, ctx)
    return [(src, quote) for src, quote, _ in found]


def quote_rows(
    src_list: list[Source], analyses: dict, mention_rows: list[dict], entities
) -> list[dict]:
    """Rows of the quotes table of one article (src_list: every version's texts, in reading
    order); entities gives an entity's canonical name and type (tables/entities.py)."""
    by_text: dict[tuple, list[dict]] = {}
    for m in mention_rows:
        key = (m["article_id"], m["version"], m["source"], m["source_position"])
        by_text.setdefault(key, []).append(m)
    versions: dict[int, list] = {}
    # Captions first: the lead photo's caption tops the page, and tells who people are.
    for src in sorted(src_list, key=lambda s: s.source != "caption"):
        key = (src.article_id, src.version, src.source, src.position)
        versions.setdefault(src.version, []).append((src, analyses[src.text], by_text.get(key, [])))
    rows = []
    for version in sorted(versions):
        ctx = SpeakerContext(entities.name_of, entities.type_of)
        for src, quote in version_quotes(versions[version], ctx):
            rows.append(_row(src, quote))
    return rows


def _row(src: Source, quote: Quote) -> dict:
    speaker = quote.speaker
    return {
        "quote_id": text_item_id(
            "quote", src.article_id, src.version, src.source, src.position, quote.start
        ),
        **src.placement(),
        "start": quote.start,
        "end": quote.end,
        "quotation": src.text[quote.start : quote.end],
        "speaker": speaker.name if speaker else None,
        "speaker_entity_id": speaker.entity_id if speaker else None,
        "speaker_rule": speaker.rule if speaker else None,
        "speaker_role": speaker.role if speaker else None,
        "cue": quote.cue,
    }
