"""Stage 6, enrich (speakers): the person or organisation a speaker phrase stands for.

A quotation's attribution names its speaker in many ways: a name ("Shah Mahmood Qureshi",
"Sharif"), a pronoun ("he"), a description of a post ("the envoy", "the Saudi
ambassador"), an organisation or its office ("the ministry"), a document ("the statement").
SpeakerContext holds what one article version has said so far, in reading order: its
mentions, the roles the text gives people (title words before a name, appositions), and
who spoke last; resolve() turns a phrase into a Speaker by the first rule that is sure, and
into nothing when none is: no speaker is better than a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from newspack.nlp.names import demonyms, looks_like_name
from newspack.rules import derived, load_rules

SPEAKER_TYPES = ("PERSON", "ORG")
PRONOUN_REACH = 2  # texts between a pronoun and the person or organisation it means
STATEMENT_REACH = 4  # texts between an organisation's words and "the statement added"
# Characters before a mention read as its modifiers ("Saudi Ambassador Nawaf ...": Saudi).
LEAD_IN_CHARS = 40
# A description that picks no one in particular ("an official", "one analyst").
_INDEFINITE = {"a", "an", "one", "another", "some", "several", "many", "two", "three"}
MAX_DESCRIPTION_WORDS = 3  # "Pakistan’s commerce ministry"; longer is a clause, not a name
_LINKS = {"by", "from", "of", "for", "in", "at", "on", "with", "to", "and", "or"}
_OBJECT_LINKS = {"of", "for", "to", "with", "by", "from"}  # "the family of X": X's family
_POSSESSIVES = {"his", "her", "its", "their"}
_ARTICLES = {"the", "a", "an", "his", "her", "its", "their", "our"}


@dataclass(frozen=True)
class Speaker:
    name: str
    entity_id: str | None
    rule: str  # quotes.speaker_rule
    role: str | None = None
    entity_type: str | None = None


@dataclass
class Known:
    """An entity of the article as read so far: its name, type, roles and last place."""

    entity_id: str
    name: str
    entity_type: str
    roles: list[str] = field(default_factory=list)
    lead_ins: list[str] = field(default_factory=list)  # the words right before each mention
    last_seen: int = -1


@derived
def _pronouns() -> dict[str, str]:
    words = load_rules("quotes")["pronouns"]
    return {w: "PERSON" for w in words["person"]} | {w: "ORG" for w in words["organisation"]}


@derived
def _role_words() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in load_rules("quotes")["speaker_roles"].items()}


@derived
def _role_heads() -> frozenset[str]:
    return frozenset(_role_words())


@derived
def _organisation_nouns() -> frozenset[str]:
    return frozenset(load_rules("quotes")["organisation_nouns"])


@derived
def _statement_nouns() -> frozenset[str]:
    return frozenset(load_rules("quotes")["statement_nouns"])


def _words(phrase: str) -> list[str]:
    return re.findall(r"[\w’'-]+", phrase)


def _head(phrase: str) -> str:
    words = _words(phrase)
    return re.sub(r"[’']s$", "", words[-1]).lower() if words else ""


class SpeakerContext:
    """What one article version has said so far, for resolving speaker phrases."""

    def __init__(self, entity_name, entity_type):
        self._entity_name = entity_name  # entity_id -> canonical name
        self._entity_type = entity_type  # entity_id -> PERSON, ORG, ...
        self.known: dict[str, Known] = {}
        self.clock = 0  # advances with every text read
        self.last_speaker: Speaker | None = None
        self.last_speaker_at = -10
        self._last_of_type: dict[str, tuple[Speaker, int]] = {}  # entity type -> (who, when)
        self._focus: dict[str, tuple[Speaker, int]] = {}  # type -> who the text is about

    def read_text(self, text: str, mentions: list[dict], appositions) -> None:
        """Take in one text's mentions and the roles its appositions give them."""
        self.clock += 1
        for m in mentions:
            known = self._known(m["entity_id"])
            known.last_seen = self.clock
            if m.get("role"):
                known.roles.append(m["role"])
            known.lead_ins.append(text[max(0, m["start"] - LEAD_IN_CHARS) : m["start"]])
        for a in appositions:
            for m in self.mentions_in(mentions, a.start, a.end, SPEAKER_TYPES):
                self._known(m["entity_id"]).roles.append(text[a.role_start : a.role_end])

    def _known(self, entity_id: str) -> Known:
        if entity_id not in self.known:
            self.known[entity_id] = Known(
                entity_id, self._entity_name(entity_id), self._entity_type(entity_id)
            )
        return self.known[entity_id]

    def mentions_in(self, mentions, start: int, end: int, types) -> list[dict]:
        return [
            m
            for m in mentions
            if m["start"] < end and start < m["end"] and self._entity_type(m["entity_id"]) in types
        ]

    def spoke(self, speaker: Speaker) -> None:
        self.last_speaker, self.last_speaker_at = speaker, self.clock
        self._last_of_type[speaker.entity_type or "PERSON"] = (speaker, self.clock)
        self._focus[speaker.entity_type or "PERSON"] = (speaker, self.clock)

    def focus_on(self, start: int, end: int, mentions) -> None:
        """A sentence's subject that is a named person or organisation: who a following
        "he" or "it" most likely means."""
        named = self.mentions_in(mentions, start, end, SPEAKER_TYPES)
        if len({m["entity_id"] for m in named}) > 1:
            self._focus.pop("PERSON", None)  # "X and Y spoke": "she" is neither for sure
            return
        for m in named:
            known = self._known(m["entity_id"])
            self._focus[known.entity_type] = (self._speaker(known, "pronoun"), self.clock)
            return

    def one_name_in(
        self, start: int, end: int, mentions, kinds=(("PERSON",), ("ORG",))
    ) -> Speaker | None:
        """The one person (else the one organisation) named in a phrase, if only one is."""
        for types in kinds:
            ids = {m["entity_id"] for m in self.mentions_in(mentions, start, end, types)}
            if len(ids) == 1:
                return self._speaker(self._known(ids.pop()), "parse_subject")
            if ids:
                return None
        return None

    def name_before(self, at: int, mentions) -> Speaker | None:
        """The person or organisation named right before a speech verb ("Zubair Anwar said")."""
        for m in self.mentions_in(mentions, 0, at, SPEAKER_TYPES):
            if 0 <= at - m["end"] <= 1:
                return self._speaker(self._known(m["entity_id"]), "explicit")
        return None

    def is_post(self, phrase: str) -> bool:
        """The phrase's head names a post ("Minister", "the envoy")."""
        return _head(phrase) in _role_heads()

    def is_document(self, phrase: str) -> bool:
        return _head(phrase) in _statement_nouns()

    def resolve_described(self, phrase: str) -> Speaker | None:
        """A description resolved once the whole article is read: only where one person or
        organisation of the article fits it."""
        words = [w for w in _words(phrase) if w.lower() not in _ARTICLES]
        head = _head(phrase)
        if head in _role_words():
            fits = self._holders(head, words[:-1])
        elif head in _organisation_nouns():
            fits = self._named_organisations(head, words[:-1])
        else:
            return None
        rule = "role" if head in _role_words() else "organisation"
        return self._speaker(fits[0], rule) if len(fits) == 1 else None

    def recent_speaker(self, within: int = 1) -> Speaker | None:
        """Who spoke in this text or the `within` texts before it."""
        if self.last_speaker and self.clock - self.last_speaker_at <= within:
            return self.last_speaker
        return None

    # --- the sieve -----------------------------------------------------------------------

    def resolve(
        self, phrase: str, start: int, mentions: list[dict], rule: str, role: str | None = None
    ) -> Speaker | None:
        """The speaker a phrase at text[start:] names, by the first rule that is sure."""
        phrase = phrase.strip(" ,;:")
        if not phrase:
            return None
        if _words(phrase) and _words(phrase)[0].lower() in _INDEFINITE:
            return None  # "an official said": someone the article does not say
        words = [w for w in _words(phrase) if w.lower() not in _ARTICLES]
        if not words:
            return None
        if len(words) == 1 and words[0].lower() in _role_words():
            return self._by_role(words[0].lower(), [])  # "PM", "Envoy" in a title
        if len(words) == 1 and words[0].lower() in _pronouns():
            return self._pronoun(words[0].lower())
        named = self._named(phrase, start, start + len(phrase), mentions, rule, role)
        if named:
            return named
        head = _head(phrase)
        if head in _role_words():
            return self._by_role(head, words[:-1])
        if _words(phrase)[0].lower() in _POSSESSIVES:
            return None  # "his office": whose, the text does not say for sure
        if head in _organisation_nouns():
            return self._organisation(head, words[:-1]) or _described_organisation(words)
        if head in _statement_nouns():
            return self._issuer()
        return None

    def _named(self, phrase, start, end, mentions, rule, role) -> Speaker | None:
        """A name: the mention the phrase's last word is part of, or a name no mention has."""
        head_at = start + len(phrase.rstrip(" ’'s")) - 1
        for m in self.mentions_in(mentions, start, end, SPEAKER_TYPES):
            if m["start"] <= head_at < m["end"] and not _describes_another(
                phrase, m["start"] - start
            ):
                return self._speaker(self._known(m["entity_id"]), rule, role)
        # A name the model missed: two capitalised words at least, since one may be a
        # common noun that starts the sentence ("Officials said").
        words = phrase.split()
        if (
            len(words) >= 2
            and looks_like_name(words)
            and words[0] not in demonyms()
            and _head(phrase) not in _role_heads() | _organisation_nouns() | _statement_nouns()
        ):
            return Speaker(phrase, None, rule, role, "PERSON")
        return None

    def _pronoun(self, pronoun: str) -> Speaker | None:
        wanted = _pronouns()[pronoun]
        focus, at = self._focus.get(wanted, (None, -10))
        if focus and self.clock - at <= PRONOUN_REACH:
            return as_rule(focus, "pronoun")
        seen = [k for k in self.known.values() if k.entity_type == wanted]
        latest = max((k.last_seen for k in seen), default=-1)
        candidates = [k for k in seen if k.last_seen == latest and latest >= self.clock - 1]
        if len(candidates) == 1:
            return self._speaker(candidates[0], "pronoun")
        return None

    def _holders(self, head: str, modifiers: list[str]) -> list[Known]:
        """The article's people whose role holds the post the description names."""
        posts = _role_words()[head]
        return [
            k
            for k in self.known.values()
            if k.entity_type == "PERSON"
            and any(_holds(r, posts) for r in k.roles)
            and all(_fits(k, w) for w in modifiers)
        ]

    def _named_organisations(self, head: str, modifiers: list[str]) -> list[Known]:
        """The article's organisations whose name holds the noun ("the ministry")."""
        return [
            k
            for k in self.known.values()
            if k.entity_type == "ORG"
            and head in re.findall(r"\w+", k.name.lower())
            and all(w.lower() in k.name.lower() for w in modifiers if w[:1].isupper())
        ]

    def _by_role(self, head: str, modifiers: list[str]) -> Speaker | None:
        return self._one_of(self._holders(head, modifiers), "role", head)

    def _organisation(self, head: str, modifiers: list[str]) -> Speaker | None:
        return self._one_of(self._named_organisations(head, modifiers), "organisation", None)

    def _issuer(self) -> Speaker | None:
        """A statement speaks for the organisation that spoke last, a few texts back at most."""
        speaker, at = self._last_of_type.get("ORG", (None, -10))
        if speaker and self.clock - at <= STATEMENT_REACH:
            return as_rule(speaker, "organisation")
        return None

    def _one_of(self, candidates: list[Known], rule: str, post: str | None) -> Speaker | None:
        """One candidate, or the one who spoke last, or the one read last; else none."""
        if not candidates:
            return None
        last = self.last_speaker
        if len(candidates) > 1 and last and last.entity_id in {k.entity_id for k in candidates}:
            candidates = [k for k in candidates if k.entity_id == last.entity_id]
        if len(candidates) > 1:
            latest = max(k.last_seen for k in candidates)
            candidates = [k for k in candidates if k.last_seen == latest]
        if len(candidates) != 1:
            return None
        known = candidates[0]
        role = next((r for r in known.roles if post and _holds(r, (post,))), None)
        return self._speaker(known, rule, role)

    def _speaker(self, known: Known, rule: str, role: str | None = None) -> Speaker:
        if known.entity_type != "PERSON":
            role = None  # an organisation's "role" is its own acronym or description
        elif not role and known.roles:
            role = known.roles[0]
        return Speaker(known.name, known.entity_id, rule, role, known.entity_type)


def _describes_another(phrase: str, name_at: int) -> bool:
    """The name is the object of a description ("the family of Jamal Khashoggi", "a
    relative of X"): the phrase speaks for someone else. A post before a name ("Minister of
    Interior X", "health minister X") is the person's own."""
    before = _words(phrase[:name_at])
    return any(
        link.lower() in _OBJECT_LINKS and noun[:1].islower() and noun.lower() not in _role_heads()
        for noun, link in pairwise(before)
    )


def _described_organisation(words: list[str]) -> Speaker | None:
    """An organisation the article describes but never names ("the commerce ministry"): the
    description is its name when a word says which one; "the ministry" alone says nothing."""
    if not 2 <= len(words) <= MAX_DESCRIPTION_WORDS or any(w in _LINKS for w in words):
        return None  # "a statement released by his office" describes, it does not name
    return Speaker(" ".join(words), None, "organisation", None, "ORG")


def as_rule(speaker: Speaker, rule: str) -> Speaker:
    """The same speaker, found by another rule."""
    return Speaker(speaker.name, speaker.entity_id, rule, speaker.role, speaker.entity_type)


def _holds(role: str, posts) -> bool:
    lowered = " " + re.sub(r"[^\w\s-]", " ", role.lower()) + " "
    return any(f" {post} " in lowered for post in posts)


def _fits(known: Known, modifier: str) -> bool:
    """A word of the description ("Saudi", "foreign") is in the person's role or context."""
    word = modifier.lower()
    return any(word in r.lower() for r in known.roles) or any(
        word in s.lower() for s in known.lead_ins
    )
