"""Curated knowledge is data: a word added to a rules file takes effect, with no code change."""

from __future__ import annotations

import shutil

import pytest
import yaml

from articles import attribute
from newspack import rules
from newspack.config import RULES_DIR
from newspack.nlp.figures import extract
from newspack.nlp.model import load_model


@pytest.fixture
def rules_copy(tmp_path):
    """A copy of rules/ that the rules are read from for one test."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    yield folder
    rules.reload()


def _add(folder, name: str, key: str, entry) -> None:
    path = folder / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data[key], dict):
        data[key].update(entry)
    else:
        data[key].append(entry)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rules.reload(folder)


def test_a_speech_verb_added_to_the_rules_finds_the_speaker(rules_copy):
    text = "“We will rebuild every road before winter,” thundered Amina Yusuf."
    assert [q["speaker"] for q in attribute(text)] == [None]
    _add(rules_copy, "quotes", "speech_verbs", "thundered")
    assert [q["speaker"] for q in attribute(text)] == ["Amina Yusuf"]


def test_a_qualifier_added_to_the_rules_qualifies_figures(rules_copy):
    text = "Upwards of 300 families lost their homes in the floods."
    doc = load_model()(text)
    assert [f.qualifier for f in extract(text, doc)] == [None]
    _add(rules_copy, "figures", "qualifiers", {"upwards of": "more than"})
    assert [f.qualifier for f in extract(text, doc)] == ["more than"]


def test_reload_goes_back_to_the_package_rules(rules_copy):
    _add(rules_copy, "quotes", "speech_verbs", "thundered")
    rules.reload()
    assert "thundered" not in rules.load_rules("quotes")["speech_verbs"]


def test_a_currency_added_to_the_rules_gives_figures_its_code(rules_copy):
    text = "The province set aside 40 million kyats for the new bridge."
    doc = load_model()(text)
    before = [f.unit for f in extract(text, doc) if f.value == 40_000_000]
    assert before and "MMK" not in before
    _add(rules_copy, "figures", "currencies", {"kyats": "MMK"})
    assert [f.unit for f in extract(text, doc) if f.value == 40_000_000] == ["MMK"]
