"""Parse stage rules: datelines, photo credits and section headings, on real-page forms."""

from __future__ import annotations

import pytest

from newspack.ingest.parse import caption_credit, is_heading, parse_dateline, split_credit


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("ISLAMABAD: Prime Minister Shehbaz Sharif on Tuesday", ("ISLAMABAD", "Islamabad", None)),
        ("KARACHI: Pakistan is spying on millions", ("KARACHI", "Karachi", None)),
        ("Islamabad: The government said", ("Islamabad", "Islamabad", None)),
        ("LAHORE : Floods have killed", ("LAHORE", "Lahore", None)),
        ("ISLAMABAD – Pakistan and Turkiye", ("ISLAMABAD", "Islamabad", None)),
        ("ISLAMABAD - Pakistan and Turkiye", ("ISLAMABAD", "Islamabad", None)),
        ("RAWALPINDI–ISLAMABAD: Troops", ("RAWALPINDI–ISLAMABAD", "Rawalpindi–Islamabad", None)),
        ("DNA ISLAMABAD: The minister", ("DNA ISLAMABAD", "Islamabad", "DNA")),
        ("ISLAMABAD, Aug 16 (APP): The minister", ("ISLAMABAD, Aug 16 (APP)", "Islamabad", "APP")),
        (
            "Islamabad [Pakistan], September 8 (ANI): Pakistan's",
            ("Islamabad [Pakistan], September 8 (ANI)", "Islamabad", "ANI"),
        ),
        ("DERA ISMAIL KHAN: Police said", ("DERA ISMAIL KHAN", "Dera Ismail Khan", None)),
    ],
)
def test_dateline_forms(paragraph, expected):
    assert parse_dateline(paragraph) == expected


@pytest.mark.parametrize(
    "paragraph",
    [
        "Pakistan was among the first nations to recognize Kazakhstan’s independence.",
        "Pakistan, Turkiye agree on closer cooperation in defense",
        "“Trade corridors are our priority,” he added: “Pakistan is keen.”",
        "Asked if China was concerned, Tarar said relations are “independent and unique“:",
    ],
)
def test_no_dateline_in_ordinary_paragraphs(paragraph):
    assert parse_dateline(paragraph) is None


@pytest.mark.parametrize(
    ("caption", "expected_credit"),
    [
        ("Murat Nurtleu (center) speaks in Islamabad on September 9, 2025. (MOFA)\u00a0", "MOFA"),
        ("A policeman stands guard in Islamabad on July 30, 2023. (AFP/File)", "AFP/File"),
        ("Floods in Punjab on August 28, 2025. (AFP/ file)", "AFP/ file"),
        ("A soldier in Quetta. (REUTERS/File)", "REUTERS/File"),
        (
            "Xi Jinping (R) shakes hands with Shehbaz Sharif. (China Daily via REUTERS)",
            "China Daily via REUTERS",
        ),
        ("Shehbaz Sharif chairs a meeting. (Handout/PMO)", "Handout/PMO"),
        ("Ishaq Dar in Riyadh. (PMO/File)", "PMO/File"),
        ("A market in Karachi. (AN photo)", "AN photo"),
        ("Traders in Karachi. (AN Photo/S.A. Babar)", "AN Photo/S.A. Babar"),
        ("The crown prince receives the minister. (SPA)", "SPA"),
        ("The prime minister addresses a gathering. (PID)", "PID"),
        ("A rally in Lahore. (Twitter/PTIofficial)", "Twitter/PTIofficial"),
        ("Rescue workers in Swat. (Photo courtesy: AFP)", "Photo courtesy: AFP"),
        ("The port of Gwadar seen in 2017. AFP", "AFP"),
        # A source no agency list knows, named after a full sentence.
        ("Aid workers unload food in Marib on May 2, 2024. (KSrelief)", "KSrelief"),
        ("Officers patrol a market in Lahore. (Punjab Police)", "Punjab Police"),
        ("Shehbaz Sharif (R) meets the minister in Riyadh. (PMO)", "PMO"),
    ],
)
def test_photo_credits(caption, expected_credit):
    for split in (split_credit, caption_credit):  # in a body, and in a header
        text, credit = split(caption)
        assert credit == expected_credit
        assert credit not in text and text.endswith(".")


@pytest.mark.parametrize(
    ("caption", "expected_credit"),
    [
        # A line known to be a caption: its last bracketed phrase is its credit, sentence
        # before it or not, known source or not.
        ("Officers patrol a market in Lahore (Punjab Police)", "Punjab Police"),
        ("Protesters in Karachi (Social media)", "Social media"),
        ("Relief goods in Marib (KSrelief)", "KSrelief"),
        # ... unless it is a positional note, which places a person and ends no caption's
        # credit, or prose.
        ("Saudi Crown Prince meets Prime Minister Shehbaz Sharif (R).", None),
        ("Ishaq Dar poses with the ministers (second from left).", None),
        ("Leaders at the summit in Astana (L to R)", None),
        ("Rescuers at the site (the building had collapsed on Monday night after rain)", None),
    ],
)
def test_caption_credits_in_a_header(caption, expected_credit):
    assert caption_credit(caption)[1] == expected_credit


@pytest.mark.parametrize(
    "text",
    [
        "Kazakhstan could benefit under the China-Pakistan Economic Corridor (CPEC)",
        "Murat Nurtleu (center) speaks during a meeting",
        "Karachi Port Trust (KPT) and Port Qasim Authority (PQA) highlighted spare capacity.",
        "Shehbaz Sharif greets the minister (R)",
        "Saudi Crown Prince meets Prime Minister Shehbaz Sharif (R).",
        "Officers patrol a market in Lahore (Punjab Police)",  # a paragraph may end so
        "The talks were held in Astana. (the statement said)",  # not a name
        "(AFP)",  # a credit alone leaves no caption: found by the format fuzz (empty caption)
        " (AFP/File)",
        # An agency's abbreviation right after its name defines it, in prose.
        "“Water comes first,” the director was quoted as saying by the Saudi Press Agency (SPA).",
    ],
)
def test_parentheses_that_are_not_credits(text):
    assert split_credit(text) == (text, None)


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("MARITIME PUSH", True),
        ("‘PRESSURE TO DELIVER’", True),
        ("CHINESE INVESTORS ‘READY TO RELOCATE’ TO PAKISTAN", True),
        ("US TIES", True),
        ("ISLAMABAD: Pakistan has ruled out the possibility", False),
        ("Tarar acknowledged Beijing’s concerns.", False),
        ("UN.", False),
    ],
)
def test_section_headings(line, heading):
    assert is_heading(line) is heading
