"""Stage 4, analyse (names): a model span cleaned into a name, its role and its owner.

General rules fix what the model gets wrong on news text: spans lose a leading "the", a
trailing possessive and a cut-off "(ABBR"; "A, B" is two names; a span that starts with a
name particle ("bin Salman") widens to the name it ends; titles and portfolios ("Prime
Minister", "Crown Prince") move to the mention's role (nameparser's titles plus
rules/titles.yaml and rules/portfolios.yaml; royal titles make the name they lead a
person's), and a nationality glued in front ("Kazakh President ...") becomes a NORP span of
its own. The word lists are data in rules/ (names.yaml, titles.yaml, demonyms.yaml, ...).
"""

from __future__ import annotations

import re

from nameparser.config import CONSTANTS as NAME_CONSTANTS

from newspack.rules import derived, load_rules


@derived
def connectors() -> frozenset[str]:
    return frozenset(load_rules("names")["connectors"])


@derived
def _titles() -> frozenset[str]:
    return frozenset(NAME_CONSTANTS.titles) | frozenset(load_rules("titles"))


@derived
def _portfolios() -> tuple[tuple[str, ...], ...]:
    phrases = (tuple(p.split()) for p in load_rules("portfolios"))
    return tuple(sorted(phrases, key=len, reverse=True))


@derived
def org_words() -> frozenset[str]:
    return frozenset(load_rules("org_words"))


@derived
def demonyms() -> frozenset[str]:
    return frozenset(load_rules("demonyms"))


@derived
def _particles() -> frozenset[str]:
    return frozenset(load_rules("names")["particles"])


@derived
def patronymics() -> frozenset[str]:
    return frozenset(load_rules("names")["patronymic"])


@derived
def _title_given_names() -> frozenset[str]:
    return frozenset(load_rules("names")["title_given_names"])


def is_name_lead(words: list[str]) -> bool:
    """A title-like given name that leads a name ("Shah" of "Shah Mahmood Qureshi"): two
    capitalised name words follow, none a patronymic, so it is no ruler's title."""
    rest = words[1:]
    return (
        len(words) >= 3
        and words[0].lower() in _title_given_names()
        and words[0][:1].isupper()
        and not any(w.lower() in patronymics() for w in rest)
        # "Sheikh Tamim Al-Thani", "Sultan Haitham Al-Said": a Gulf ruling family's name
        # makes the first word the ruler's title
        and not any(re.match(r"(?i)al[-\s]|al$", w) for w in rest)
        and looks_like_name(rest)
        and not any(_is_title(w) for w in rest)
    )


@derived
def _royal_titles() -> frozenset[str]:
    return frozenset(load_rules("names")["royal_titles"])


def _is_particle(word: str) -> bool:
    """A lower-case part of a name ("bin", "von"), never a name alone."""
    return word.islower() and word in _particles()


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


@derived
def _role_words() -> frozenset[str]:
    return frozenset(load_rules("titles")) | frozenset(load_rules("names")["core_posts"])


def is_title_word(word: str) -> bool:
    """A title ("Sheikh", "Emir", "Minister"): a span of titles alone names no one."""
    return _is_title(word) or word.lower() in _royal_titles()


def _is_role_word(word: str) -> bool:
    """A word that names a post, never an organisation (titles.yaml and the core posts)."""
    return word.lower() in _role_words()


def looks_like_name(words: list[str]) -> bool:
    """Capitalised words (and name particles between them: "Mohammed bin Salman"), none a
    connector, not ending like an organisation's name."""
    capitalised = [w for w in words if not _is_particle(w)]
    return (
        1 <= len(capitalised) <= 4
        and len(words) <= 7
        and words[0][:1].isupper()
        and words[-1][:1].isupper()
        and all(w[:1].isupper() and w.lower() not in connectors() for w in capitalised)
        and words[-1] not in org_words()
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


Cleaned = tuple[int, int, str, str | None]  # (start, end, label, role)


def clean_span(text: str, start: int, end: int, label: str) -> list[Cleaned]:
    """Trim a model span; split off a nationality and a role. Returns (start, end, label, role)."""
    span = text[start:end]
    if (
        label != "PERSON"
        and ", " in span
        and all(p[:1].isupper() for p in span.split(", "))
        and not is_listing_name(span)
    ):
        parts, found, at = span.split(", "), [], start  # "Karachi, Lahore": two names
        for part in parts:
            found += clean_span(text, at, at + len(part), label)
            at += len(part) + 2
        return found
    start, end = _trimmed(text, start, end)
    if end <= start or not any(c.isupper() for c in text[start:end]):
        return []  # a name is capitalised: "commerce ministry" is no entity
    out: list[Cleaned] = []
    start = _split_off_owners(text, start, end, label, out)
    words = text[start:end].split(" ")
    if label in ("ORG", "PERSON") and _is_role_word(words[-1]):
        owner = " ".join(words[:-1])
        # "Pakistan PM": one capitalised word before a post is its country (resolved
        # later); "Emergency Relief Coordinator" is a post alone.
        if owner and owner[:1].isupper() and " " not in owner:
            kind = "NORP" if owner in demonyms() else "GPE"
            out.append((start, start + len(owner), kind, None))
        return out  # a post without a name: "Emergency Relief Coordinator"
    out.append(_without_titles(text, start, end, label))
    return out


def is_listing_name(span: str) -> bool:
    """An organisation whose name lists its fields ("Ministry of Municipal, Rural Affairs
    and Housing"): it starts with an organisation word and "of", so its commas are its own."""
    words = re.sub(r"^(?:the|The)\s+", "", span).split()
    return len(words) >= 3 and words[0] in org_words() and words[1] in ("of", "for")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """A span without a cut-off "(ABBR", a leading article, trailing common nouns and
    possessives, widened to the particles of a name it ends."""
    span = text[start:end]
    if "(" in span:  # "the National Emergency Operations Center (NEOC": the name ends before
        end = start + span.index("(")
    if m := re.match(r"(?i)(?:the|an?)\s+", text[start:end]):
        start += m.end()
    # Trailing common nouns are not part of the name: "Balochistan province".
    if m := re.search(r"(?:\s+[a-z][\w-]*)+$", text[start:end]):
        end -= len(m.group(0))
    if m := re.search(r"(?:[’']s?|[\s,.;:])+$", text[start:end]):
        end -= len(m.group(0))
    start = _name_start(text, start)
    return _lead_start(text, start, end), end


def _lead_start(text: str, start: int, end: int) -> int:
    """Widened over a title-like given name the model left out ("Pir" + "Noorul Haq Qadri")."""
    before = text[:start]
    if not before.endswith(" "):
        return start
    word = before.rstrip().rsplit(" ", 1)[-1]
    if word and is_name_lead([word, *text[start:end].split()]):
        return start - len(word) - 1
    return start


def _split_off_owners(text: str, start: int, end: int, label: str, out: list[Cleaned]) -> int:
    """Add an owner ("Pakistan’s" of "Pakistan’s National Disaster Management Authority")
    and a nationality glued in front ("Kazakh President ...") as spans of their own; the
    start of what is left."""
    if m := re.search(r"[’']s\s+(?=[A-Z])", text[start:end]):
        out.append((start, start + m.start(), "GPE", None))
        start += m.end()
    words = text[start:end].split(" ")
    if (
        len(words) > 1
        and words[0] in demonyms()
        and (label == "PERSON" or _is_title(words[1]) or _portfolio_at(words, 1))
    ):
        out.append((start, start + len(words[0]), "NORP", None))
        start += len(words[0]) + 1
    return start


def _without_titles(text: str, start: int, end: int, label: str) -> Cleaned:
    """The name without the titles that lead it, which become its role.

    nameparser's titles ("National", "General") are safe to strip from a person's name
    only; from another span only posts and portfolios are, unless what the titles lead is
    plainly a person: a full name ("Field Marshal Asim Munir") or, after a royal title, a
    name ("Sultan Haitham", "Prince Turki bin Talal")."""
    words = text[start:end].split(" ")
    if is_name_lead(words):
        label = "PERSON"  # "Malik Ahmad Khan", whatever the model called it
    lead = _title_run(words, _is_title if label == "PERSON" else _is_role_word)
    # A place the model reads is no title's ("the United Arab Emirates"): only a royal
    # title makes one a person ("King Salman" tagged GPE).
    if not lead and label != "PERSON":
        lead = _title_run(words, _is_title)
        if label in ("GPE", "LOC") and not any(w.lower() in _royal_titles() for w in words[:lead]):
            lead = 0
        rest = words[lead:]
        royal = any(w.lower() in _royal_titles() for w in words[:lead])
        plain = len(rest) >= 2 and not royal
        if not (lead and (plain or (royal and (len(rest) == 1 or any(map(_is_particle, rest)))))):
            lead = 0
        elif looks_like_name(rest):
            label = "PERSON"
    rest = words[lead:]
    prefix_role = _role_before(text, start)
    if lead and looks_like_name(rest) and (label == "PERSON" or len(rest) >= 2):
        role = " ".join(filter(None, [prefix_role, " ".join(words[:lead])]))
        return start + len(" ".join(words[:lead])) + 1, end, "PERSON", role or None
    if _portfolio_at(words, 0) and prefix_role and looks_like_name(rest):
        return start, end, label, prefix_role  # a portfolio glued to the role before it
    return start, end, label, prefix_role if label == "PERSON" else None


def _title_run(words: list[str], is_title) -> int:
    """How many leading words are titles or portfolios (always leaving one word)."""
    lead = 0
    while lead < len(words) - 1:
        if is_name_lead(words[lead:]):
            break  # "Pir Noorul Haq Qadri": the rest is the name
        step = _portfolio_at(words, lead) or (1 if is_title(words[lead]) else 0)
        if not step:
            break
        lead += step
    return lead
