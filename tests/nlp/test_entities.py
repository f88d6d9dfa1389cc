"""Enrich stage, entities: span rules, offline places, canonical entities on the real dumps."""

from __future__ import annotations

import pytest

from layouts import DUMPS
from newspack import pipeline
from newspack.dev.evaluate import load_gold, predicted_pairs, score
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_dump
from newspack.nlp.names import clean_span
from newspack.tables import places
from newspack.tables.frames import records
from newspack.tables.places import default_gazetteer


def resolve(name, countries=frozenset()):
    return default_gazetteer().resolve(name, countries)


def _spans(text: str, surface: str, label: str):
    start = text.index(surface)
    return [
        (text[s:e], lab, role)
        for s, e, lab, role in clean_span(text, start, start + len(surface), label)
    ]


@pytest.mark.parametrize(
    ("text", "span", "label", "expected"),
    [
        (
            "ISLAMABAD: Prime Minister Shehbaz Sharif on Tuesday",
            "Shehbaz Sharif",
            "PERSON",
            [("Shehbaz Sharif", "PERSON", "Prime Minister")],
        ),
        (
            "A roadmap for Kazakh President Kassym-Jomart Tokayev’s planned visit",
            "Kazakh President Kassym-Jomart Tokayev’s",
            "ORG",
            [("Kazakh", "NORP", None), ("Kassym-Jomart Tokayev", "PERSON", "President")],
        ),
        (
            "met Minister for Food Security Rana Tanveer Hussain and",
            "Food Security Rana Tanveer Hussain",
            "ORG",
            [("Rana Tanveer Hussain", "PERSON", "Minister for Food Security")],
        ),
        (
            "UN Secretary General’s Spokesperson Stéphane Dujarric said",
            "Spokesperson Stéphane Dujarric",
            "ORG",
            [("Stéphane Dujarric", "PERSON", "Spokesperson")],
        ),
        (
            "the National Emergency Operations Center (NEOC) said",
            "the National Emergency Operations Center (NEOC",
            "ORG",
            [("National Emergency Operations Center", "ORG", None)],
        ),
        (
            "Pakistan’s National Disaster Management Authority (NDMA) has said",
            "Pakistan’s National Disaster Management Authority",
            "ORG",
            [("Pakistan", "GPE", None), ("National Disaster Management Authority", "ORG", None)],
        ),
        (
            "in its southwestern Balochistan province, 2.182",
            "Balochistan province",
            "GPE",
            [("Balochistan", "GPE", None)],
        ),
        ("the commerce ministry said", "commerce ministry", "ORG", []),
        (
            "yesterday, the Emergency Relief Coordinator, Tom Fletcher",
            "Emergency Relief Coordinator",
            "ORG",
            [],
        ),
        (
            "countries such as Saudi Arabia, Turkiye",
            "Saudi Arabia",
            "GPE",
            [("Saudi Arabia", "GPE", None)],
        ),
    ],
)
def test_span_rules(text, span, label, expected):
    assert _spans(text, span, label) == expected


@pytest.mark.parametrize(
    ("name", "kind", "country", "subdivision", "lat", "lon"),
    [
        # Cities: geonames coordinates (checkable on any map).
        ("Islamabad", "city", "PK", "PK-IS", 33.72, 73.04),
        ("Karachi", "city", "PK", "PK-SD", 24.86, 67.01),
        ("Gwadar", "city", "PK", "PK-BA", 25.12, 62.33),
    ],
)
def test_cities_resolve_offline(name, kind, country, subdivision, lat, lon):
    place = resolve(name, frozenset({"PK"}))
    assert (place.kind, place.country_code, place.subdivision_code) == (kind, country, subdivision)
    assert place.latitude == pytest.approx(lat, abs=0.01)
    assert place.longitude == pytest.approx(lon, abs=0.01)


@pytest.mark.parametrize(
    ("name", "kind", "code", "box"),
    [
        # Countries and provinces: their centre must fall inside their bounding box.
        ("Pakistan", "country", None, (23.6, 37.1, 60.8, 77.9)),
        ("Punjab", "subdivision", "PK-PB", (27.7, 34.1, 69.3, 75.4)),
        ("Balochistan", "subdivision", "PK-BA", (24.8, 32.2, 60.8, 70.4)),
    ],
)
def test_countries_and_provinces_resolve_offline(name, kind, code, box):
    place = resolve(name, frozenset({"PK"}))
    assert (place.kind, place.country_code, place.subdivision_code) == (kind, "PK", code)
    south, north, west, east = box
    assert south < place.latitude < north and west < place.longitude < east


def test_punjab_is_indian_only_in_an_indian_context():
    assert resolve("Punjab", frozenset({"IN"})).subdivision_code == "IN-PB"


def test_two_letter_words_are_not_country_codes():
    assert resolve("AI") is None and resolve("US").country_code == "US"


def test_the_kept_place_index_is_the_one_built_from_geonames(tmp_path, monkeypatch):
    kept = tmp_path / "places.pickle"
    first = places.load_index(kept)  # built from geonames, then written
    assert kept.exists()
    with monkeypatch.context() as m:
        m.setattr(places, "build_index", lambda: pytest.fail("built, not read"))
        assert places.load_index(kept) == first  # read back from the file: the same index
    kept.write_bytes(b"garbage")
    assert places.load_index(kept) == first  # an unreadable file is built again


def _entity(tables, name):
    entities = tables["entities"]
    rows = entities[entities["name"] == name]
    assert len(rows) == 1, f"{name}: {len(rows)} entities"
    return records(rows)[0]


def test_sharif_is_one_person_with_his_title_as_role(tables):
    sharif = _entity(tables, "Shehbaz Sharif")
    assert sharif["entity_type"] == "PERSON" and "Sharif" in sharif["aliases"].split("; ")
    assert not tables["entities"]["name"].str.contains("Prime Minister").any()
    mentions = tables["mentions"]
    roles = set(mentions.loc[mentions["entity_id"] == sharif["entity_id"], "role"].dropna())
    assert "Prime Minister" in roles


def test_model_confusions_are_fixed(tables):
    assert _entity(tables, "Kazakh")["entity_type"] == "NORP"
    for place in ("Gwadar", "Karachi", "Punjab", "Balochistan", "Islamabad", "Pakistan"):
        assert _entity(tables, place)["entity_type"] == "GPE", place
    kp = _entity(tables, "Khyber Pakhtunkhwa")
    assert "KP" in kp["aliases"] and kp["subdivision_code"] == "PK-KP"
    assert _entity(tables, "Ishaq Dar")["article_count"] == 2  # "Dar" and "Senator Ishaq Dar"


def test_published_places_carry_codes_and_coordinates(tables):
    expected = {
        "Pakistan": ("PK", None),
        "Islamabad": ("PK", "PK-IS"),
        "Karachi": ("PK", "PK-SD"),
        "Gwadar": ("PK", "PK-BA"),
        "Punjab": ("PK", "PK-PB"),
        "Balochistan": ("PK", "PK-BA"),
    }
    for name, (country, subdivision) in expected.items():
        row = _entity(tables, name)
        assert (row["country_code"], row["subdivision_code"]) == (country, subdivision), name
        assert row["latitude"] is not None and row["longitude"] is not None, name


def test_headings_are_not_read_for_entities(tables):
    mentions = tables["mentions"]
    assert not mentions["surface"].isin(["MARITIME PUSH", "THE HOME FRONT RISK"]).any()
    captions = mentions[mentions["source"] == "caption"]
    assert "He Lifeng" in set(captions["surface"])


def test_f1_against_the_gold_list_is_at_least_0_90(tables):
    found = predicted_pairs(records(tables["entities"]), records(tables["mentions"]))
    result = score(load_gold(), found)
    assert result.f1 >= 0.90, (result.false_positives, result.false_negatives)


def test_entity_ids_survive_adding_a_dump():
    def ids(paths):
        parsed = [parse_dump(read_dump(p)) for p in paths]
        entities = pipeline.build_tables(pipeline.Processed.of(parsed))["entities"]
        return dict(zip(entities["name"], entities["entity_id"], strict=True))

    paths = sorted(DUMPS.glob("*.txt"))
    before, after = ids(paths[:1]), ids(paths)
    for name in ("Shehbaz Sharif", "Pakistan", "Gwadar", "Amnesty International", "Kazakh"):
        assert before[name] == after[name], name
