"""Stage 4, analyse (attribution cues): who the parse says speaks, and who a name is.

Quote attribution (tables/quotes.py) needs the sentence's structure, which only the
analysis stage has: the spaCy Doc does not outlive its batch. So two things are read off
the dependency parse here and kept as plain character offsets, cached with the dump:

- speech cues: a speech verb of rules/quotes.yaml ("said", "told", "wrote", ...) with its
  grammatical subject, wherever the subject stands ("X said", "said X", "X was quoted as
  saying": the subject of the verb the participle hangs on), and "according to X";
- appositions: a noun phrase and the description set beside it ("Raja Ali Ejaz, Pakistan's
  ambassador to Saudi Arabia"), the role a later "the ambassador said" refers to.

The subject's span is its noun phrase without what follows the head (an apposition, a
relative clause), so "Dr. Abdullah Al-Rabeeah, adviser at the Royal Court" gives the name
and, separately, the role.
"""

from __future__ import annotations

from dataclasses import dataclass

from newspack.rules import derived, load_rules

SUBJECT_DEPS = ("nsubj", "nsubjpass")
# Dependents after a subject's head that are not part of its name: an apposition, a
# relative clause, a participle, or the punctuation and conjunction that lead into them.
_AFTER_HEAD = ("appos", "relcl", "acl", "punct", "cc", "conj", "prep", "advmod")
# Labels that make a participle ("saying", "adding") hang on the verb whose subject speaks.
_CLAUSE_DEPS = ("advcl", "xcomp", "conj", "pcomp", "ccomp")


@dataclass(frozen=True)
class SpeechCue:
    """A speech verb (or "according to") and the subject the parse gives it, as offsets
    into the text; subject_start is None when the parse found no subject."""

    verb_start: int
    verb_end: int
    verb: str
    subject_start: int | None
    subject_end: int | None
    role_start: int | None = None  # an apposition of the subject: its role as the text says
    role_end: int | None = None
    tree_start: int | None = None  # the subject's whole phrase, appositions and all
    tree_end: int | None = None
    issuer_start: int | None = None  # "a statement from X", "a statement released by X": X
    issuer_end: int | None = None


@dataclass(frozen=True)
class Subject:
    """The noun phrase that is the subject of a sentence's main verb."""

    start: int
    end: int


@dataclass(frozen=True)
class Apposition:
    """A noun phrase (start, end) and the description beside it (role_start, role_end)."""

    start: int
    end: int
    role_start: int
    role_end: int


@derived
def speech_verbs() -> frozenset[str]:
    return frozenset(w.lower() for w in load_rules("quotes")["speech_verbs"])


def _noun_phrase(head) -> tuple[int, int]:
    """Character span of a noun phrase up to its head and the name words after it, without
    appositions, clauses and prepositional phrases that follow."""
    tokens = [head]
    for child in head.lefts:
        tokens += list(child.subtree)
    for child in head.rights:
        if child.dep_ in _AFTER_HEAD:
            break
        tokens += list(child.subtree)
    tokens = sorted(tokens)
    # A comma or bracket before the head ends what belongs to it: "in the Kingdom,
    # Pakistan’s envoy" is the envoy (the parse may hang the place on him).
    cut = max((i for i, t in enumerate(tokens) if t.is_punct and t.i < head.i), default=-1)
    tokens = [t for t in tokens[cut + 1 :] if not t.is_punct] or [head]
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _tree(head) -> tuple[int, int]:
    tokens = [t for t in head.subtree if not t.is_punct] or [head]
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _issuer_of(head) -> tuple[int, int] | tuple[None, None]:
    """Who a document subject comes from: "a statement from X", "released by X"."""
    for child in head.rights:
        if child.dep_ == "prep" and child.lower_ in ("from", "by", "of"):
            objects = [c for c in child.children if c.dep_ == "pobj"]
        elif child.dep_ == "acl":
            objects = [
                c
                for agent in child.children
                if agent.dep_ == "agent"
                for c in agent.children
                if c.dep_ == "pobj"
            ]
        else:
            continue
        if objects:
            return _noun_phrase(objects[0])
    return None, None


def _apposition_of(head) -> tuple[int, int] | tuple[None, None]:
    for child in head.rights:
        if child.dep_ == "appos":
            tokens = list(child.subtree)
            while len(tokens) > 1 and tokens[-1].is_punct:
                tokens.pop()
            return tokens[0].idx, tokens[-1].idx + len(tokens[-1])
    return None, None


def _subject_of(verb):
    """The verb's subject; a noun right before a verb the parse left without one ("...,
    Pakistan’s envoy said"); a participle or infinitive without one ("..., saying", "was
    quoted as saying") takes that of the verb it depends on."""
    own = [c for c in verb.children if c.dep_ in SUBJECT_DEPS]
    if own:
        return own[0], True
    before = verb.nbor(-1) if verb.i > verb.sent.start else None
    if before is not None and before.pos_ in ("NOUN", "PROPN", "PRON") and before.head is not verb:
        return before, False
    for _ in range(3):
        for child in verb.children:
            if child.dep_ in SUBJECT_DEPS:
                return child, True
        if verb.dep_ not in _CLAUSE_DEPS or verb.head is verb:
            return None, False
        verb = verb.head
    return None, False


def _cue(verb_token, verb_text: str, subject, parsed: bool = True) -> SpeechCue:
    """parsed: the subject is the parse's; else a neighbour, whose phrase is its own only."""
    start, end = verb_token.idx, verb_token.idx + len(verb_token)
    if subject is None:
        return SpeechCue(start, end, verb_text, None, None)
    subject_start, subject_end = _noun_phrase(subject)
    role_start, role_end = _apposition_of(subject)
    tree = _tree(subject) if parsed else (subject_start, subject_end)
    return SpeechCue(
        start,
        end,
        verb_text,
        subject_start,
        subject_end,
        role_start,
        role_end,
        *tree,
        *_issuer_of(subject),
    )


def speech_cues(doc) -> tuple[SpeechCue, ...]:
    """Every speech verb of the text with its subject, and every "according to X"."""
    verbs = speech_verbs()
    cues = []
    for token in doc:
        word = token.text.lower()
        # "prisoners announced during the visit": a participle that describes a noun.
        if word in verbs and token.pos_ in ("VERB", "AUX") and token.dep_ not in ("acl", "amod"):
            cues.append(_cue(token, word, *_subject_of(token)))
        elif word == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to":
            objects = [c for c in doc[token.i + 1].children if c.dep_ == "pobj"]
            cues.append(_cue(token, "according to", objects[0] if objects else None))
    return tuple(cues)


def appositions(doc) -> tuple[Apposition, ...]:
    """Every proper noun phrase with an apposition ("Tarar, the information minister")."""
    found = []
    for token in doc:
        if token.pos_ != "PROPN" or not any(c.dep_ == "appos" for c in token.rights):
            continue
        start, end = _noun_phrase(token)
        role_start, role_end = _apposition_of(token)
        found.append(Apposition(start, end, role_start, role_end))
    return tuple(found)


def sentence_subjects(doc) -> tuple[Subject, ...]:
    """The subject of each sentence's main verb, in order: who the sentence is about, the
    person a later "he" or "she" most likely means."""
    found = []
    for sentence in doc.sents:
        for child in sentence.root.children:
            if child.dep_ in SUBJECT_DEPS:
                found.append(Subject(*_noun_phrase(child)))
                break
    return tuple(found)
