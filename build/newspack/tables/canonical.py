"""Stage 6, enrich (canonical names): one name and one type for each entity of an article.

In an article (never across articles), a surname ("Sharif") or given name ("Xi") is the
one person of that name, never through a patronymic ("Salman" of "... bin Salman") and
never a country or province; an acronym ("NEOC", "KP") is the name it abbreviates, a first
word ("Amnesty") the longer organisation it starts. kinds.py gives kinds by rule (not
entities, platforms, facilities, natural features); demonyms are NORP; names that resolve
offline to a country, province or city (places.py) with enough evidence (_place_for) are
GPE and carry codes and coordinates; a GPE that is no known place is an ORG unless it
follows "in". A name's type is decided by vote across its mentions in the article. Every
merge is recorded as the rule that made it (mentions.name_rule).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from itertools import pairwise

from newspack.ingest.sources import Source
from newspack.nlp import kinds
from newspack.nlp.names import connectors, demonyms, looks_like_name, org_words, patronymics
from newspack.nlp.spans import definitions
from newspack.tables import places

AS_WRITTEN = "as_written"
# Kinds a rule gives that rule out a place ("Khyber Pakhtunkhwa" defined as the long form
# of "KP" is a place although the model tags it ORG).
NOT_PLACES = {"PERSON", "NORP", "LOC", "FAC", "PRODUCT", "LAW", "EVENT"}
# Words after which a capitalised name is a place ("floods in Jubail").
LOCATIVE_PREPOSITIONS = {"in", "near", "outside", "across", "around", "into", "inside"}
_ACRONYM = re.compile(r"[A-Z]{2,6}")


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

    @cached_property  # read many times per mention; start and end are never changed
    def surface(self) -> str:
        return self.src.text[self.start : self.end]


def find_mentions(src_list: list[Source], analyses: dict) -> list[Mention]:
    """The mentions in every source, from the analysis of its text (analyse.py)."""
    found = []
    for src in src_list:
        cut = src.cut_word_start()
        found += [
            Mention(src, s.start, s.end, s.label, s.sentence, s.role)
            for s in analyses[src.text].spans
            if cut is None or s.end <= cut
        ]
    return found


@cache
def _initials(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w and w.lower() not in connectors()]
    return "".join(w[0] for w in words if w[0].isupper())


def _is_full_name(label: str, surface: str) -> bool:
    words = surface.split()
    return label == "PERSON" and len(words) >= 2 and looks_like_name(words)


class PersonIndex:
    """Full names by their first and last word: "Sharif" is the one person of that name."""

    def __init__(self, names: list[str]):
        self._by_word: dict[str, set[str]] = defaultdict(set)
        for name in names:
            words = name.split()
            self._by_word[words[0]].add(name)
            if len(words) < 2 or words[-2] not in patronymics():
                self._by_word[words[-1]].add(name)

    def the_one(self, word: str) -> str | None:
        """The full name a single word stands for, when exactly one name has it."""
        matches = self._by_word.get(word, ())
        return next(iter(matches)) if len(matches) == 1 else None


@dataclass
class ArticleContext:
    persons: list[str] = field(default_factory=list)  # full names (2+ words)
    # Names of 2+ words, looked up per mention: built once per article, so that resolving
    # a mention costs the same however many versions (and names) its article has.
    label_of_long_name: dict[str, str] = field(default_factory=dict)  # the first label
    long_names_by_initials: dict[str, set[str]] = field(default_factory=dict)
    organisations_by_first_word: dict[str, set[str]] = field(default_factory=dict)
    definitions: dict[str, list[str]] = field(default_factory=dict)  # acronym -> long forms
    defined: dict[str, str] = field(default_factory=dict)  # long form -> its acronym's first
    countries: frozenset[str] = frozenset()  # countries the article names
    home: frozenset[str] = frozenset()  # the country of its dateline
    dateline_city: str | None = None
    person_index: PersonIndex | None = None
    gazetteer: places.Gazetteer | None = None


def _is_demonym(word: str) -> bool:
    """A nationality word, singular or plural ("Pakistani", "Pakistanis")."""
    return word in demonyms() or (word.endswith("s") and word[:-1] in demonyms())


def _resolve_name(m: Mention, ctx: ArticleContext) -> tuple[str, str, str]:
    """Canonical name, rule-given type (or "" to leave the type to the vote) and the rule
    that named it (mentions.name_rule)."""
    surface = m.surface
    if _is_demonym(surface):
        return surface, "NORP", AS_WRITTEN
    if surface in ctx.definitions or surface in ctx.defined:
        long = ctx.definitions[surface][0] if surface in ctx.definitions else ctx.defined[surface]
        return long, ctx.label_of_long_name.get(long, ""), "long_form"
    words = surface.split()
    if kinds.is_region(surface):
        return surface.removeprefix("the ").removeprefix("The "), "LOC", AS_WRITTEN
    if kinds.is_religion(surface) and not ctx.person_index.the_one(surface):
        return surface, "NORP", AS_WRITTEN  # unless a person of the article is so named
    if kinds.is_festival(surface):
        return surface, "EVENT", AS_WRITTEN
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
        ctx.gazetteer.candidates(surface) or _ACRONYM.fullmatch(surface)
    ):  # "the Riyadh summit" is Riyadh's
        return surface, "EVENT", AS_WRITTEN
    if m.label == "PERSON" and len(words) >= 2 and words[-1] in org_words():
        return surface, "ORG", AS_WRITTEN
    if m.label == "PERSON" and not m.role and kinds.is_brand_word(surface):
        return surface, "ORG", AS_WRITTEN
    words = surface.split()
    if len(words) == 1:
        # Only within the article: across articles one word may be many people, and a
        # place is never a short form of a person ("Pakistan" of "KSRelief Pakistan").
        # A country is a short form of a person only where the model reads a person there
        # ("Chad said", after "Chad Smith"), never against it ("KSRelief Pakistan").
        region = _is_region(surface, ctx.gazetteer) and m.label != "PERSON"
        person = None if region else ctx.person_index.the_one(surface)
        if person:
            return person, "PERSON", "person_in_article"
        if m.label == "NORP":
            return surface, "", AS_WRITTEN  # "Asian" is no short form of "Asian Development Bank"
        if _ACRONYM.fullmatch(surface):
            long = ctx.long_names_by_initials.get(surface, set())
            if len(long) == 1:
                return next(iter(long)), "", "acronym_initials"
        # "Amnesty" for "Amnesty International", but "Karachi" stays a place next to
        # "Karachi Port Trust".
        longer = set(ctx.organisations_by_first_word.get(surface, ()))
        home_place = any(
            p.kind != "city" or p.country_code in ctx.home
            for p in ctx.gazetteer.candidates(surface)
        )
        if len(longer) == 1 and not home_place:
            return longer.pop(), "ORG", "organisation_first_word"
    return surface, "", AS_WRITTEN


def _is_region(name: str, gazetteer: places.Gazetteer) -> bool:
    """A country or province by that name (pycountry): never a short form of another name."""
    return any(p.kind in ("country", "subdivision") for p in gazetteer.candidates(name))


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
    place = ctx.gazetteer.resolve(lookup, known)
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
    if m.sentence.startswith(m.surface) and " " not in name:
        return None
    if _after_locative(m) or m.in_place_list:
        return place
    if place.country_code not in known:
        return None
    # One word of a country the article names is the town. A longer name the model calls
    # an organisation is one ("a White House lunch"), even where a town bears it; one it
    # calls a person is the town it names ("Toba Tek Singh", "Dera Ismail Khan") unless
    # the text treats it as someone (a title, a speech verb after it).
    if " " not in name or (label == "PERSON" and not _speaks(m)):
        return place
    return None


_COORDINATION = re.compile(r"\s+and\s+(?:the\s+)?")


def _split_coordinated(m: Mention, gazetteer: places.Gazetteer) -> list[Mention]:
    """ "Tabuk and Arar" or "Saudi Arabia and the United Arab Emirates" read as one name:
    two places, where each side is one the gazetteers know."""
    joint = _COORDINATION.search(m.surface)
    if joint is None or m.label == "PERSON" or _COORDINATION.search(m.surface, joint.end()):
        return [m]
    left, right = m.surface[: joint.start()], m.surface[joint.end() :]
    if not (gazetteer.candidates(left) and gazetteer.candidates(right)):
        return [m]
    return [
        replace(m, end=m.start + len(left), label="GPE"),
        replace(m, start=m.start + joint.end(), label="GPE"),
    ]


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


def _speaks(m: Mention) -> bool:
    """The mention is followed by a speech verb ("Dera Ismail Khan said"): a person."""
    from newspack.nlp.attribution import speech_verbs

    after = m.src.text[m.end :].split(maxsplit=1)
    return bool(after) and after[0].strip(",.").lower() in speech_verbs()


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


def _article_context(
    mentions: list[Mention], dateline_city: str | None, gazetteer: places.Gazetteer
) -> ArticleContext:
    ctx = ArticleContext(dateline_city=dateline_city, gazetteer=gazetteer)
    home = gazetteer.resolve(dateline_city) if dateline_city else None
    ctx.home = frozenset([home.country_code]) if home else frozenset()
    # Texts in reading order (not a set: the first long form of an acronym wins).
    ctx.definitions = definitions(list(dict.fromkeys(m.src.text for m in mentions)))
    ctx.defined = {long: forms[0] for forms in ctx.definitions.values() for long in forms}
    for m in mentions:
        if _is_full_name(m.label, m.surface):
            ctx.persons.append(m.surface)
        if len(words := m.surface.split()) >= 2:
            ctx.label_of_long_name.setdefault(m.surface, m.label)
            ctx.long_names_by_initials.setdefault(_initials(m.surface), set()).add(m.surface)
            if m.label == "ORG":
                ctx.organisations_by_first_word.setdefault(words[0], set()).add(m.surface)
    countries = set()
    for m in mentions:
        if m.label == "GPE" and (place := gazetteer.resolve(m.surface)) and place.kind == "country":
            countries.add(place.country_code)
    ctx.countries = frozenset(countries)
    ctx.person_index = PersonIndex(ctx.persons)
    return ctx


def canonicalise(
    mentions: list[Mention],
    datelines: dict[str, str | None],
    gazetteer: places.Gazetteer | None = None,
) -> dict[tuple[str, str], places.Place | None]:
    """Set each mention's canonical name and type; return the place of each GPE entity.

    Short forms join longer names only inside their article (all its versions): across
    articles one word may be many people, so there only identical names are one entity.
    """
    mentions[:] = [m for m in mentions if m.label != "_DROP" and not kinds.is_not_entity(m.surface)]
    gazetteer = gazetteer or places.default_gazetteer()
    mentions[:] = [part for m in mentions for part in _split_coordinated(m, gazetteer)]
    by_article: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_article[m.src.article_id].append(m)
    contexts = {
        a: _article_context(ms, datelines.get(a), gazetteer) for a, ms in by_article.items()
    }
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
