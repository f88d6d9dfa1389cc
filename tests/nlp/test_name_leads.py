"""Analyse stage, names led by a title-like given name (nlp/names.py, nlp/spans.py): "Shah",
"Malik", "Raja", "Syed", "Pir" ... stay in a name two name words follow, the model's cuts of
such names are joined, and a ruler's title ("Sultan Haitham") is still a title. Sentences
written for these tests, run through the real model and the per-article canonicalisation."""

from __future__ import annotations

import pytest

from articles import people
from newspack.nlp.names import is_name_lead


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("Shah Mahmood Qureshi", True),
        ("Pir Noorul Haq Qadri", True),
        ("Sultan Haitham", False),  # one name word: the ruler's title
        ("Sheikh Mohammed bin Rashid", False),  # a patronymic: the Gulf honorific
        ("Malik Prime Minister", False),  # titles are no name words
        ("Nawab Aslam Raisani", True),
    ],
)
def test_a_name_lead_needs_two_name_words_after_it(words, expected):
    assert is_name_lead(words.split()) is expected


def test_a_name_the_model_cut_after_its_lead_is_whole_and_its_surname_joins_it():
    found = people(
        "Foreign Minister Shah Mahmood Qureshi met the delegation in Islamabad.",
        "Qureshi said the talks had gone well.",
    )
    assert found == {"Shah Mahmood Qureshi"}


def test_leads_stay_in_names_and_royal_titles_do_not():
    found = people(
        "Raja Pervez Ashraf, Syed Yousuf Raza Gilani and Pir Noorul Haq Qadri attended the "
        "session, while Sultan Haitham bin Tarik sent a message."
    )
    assert {"Raja Pervez Ashraf", "Syed Yousuf Raza Gilani", "Pir Noorul Haq Qadri"} <= found
    assert "Haitham bin Tarik" in found and not any(n.startswith("Sultan") for n in found)


def test_a_gulf_ruling_family_name_makes_the_lead_a_title():
    assert not is_name_lead(["Sheikh", "Tamim", "Al-Thani"])
    assert not is_name_lead(["Sultan", "Haitham", "Al-Said"])
