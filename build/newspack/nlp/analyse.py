"""Stage 4, analyse: the NLP pass over each dump's texts, the one costly stage.

Every title, bullet, body paragraph and photo caption is read once by spaCy, and what the
later stages need from the parse is kept as plain values: the model's entity spans, already
cleaned (spans.spans_in), the figures (figures.extract), each with its sentence, and the
speech verbs with their subjects and the appositions that quote attribution reads
(attribution.py). No
spaCy Doc outlives its batch, so memory does not grow with the corpus, and a dump's
analysis can run in a worker process and be cached between builds (pipeline.py, cache.py).

The analysis of a text depends on the text alone: spaCy's output does not depend on which
texts share a batch (tests/execution/test_parallel.py checks it), which is what makes a parallel or
cached build identical to a one-process build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newspack.ingest.parse import ParsedDump
from newspack.ingest.sources import version_texts
from newspack.nlp.attribution import (
    Apposition,
    SpeechCue,
    Subject,
    appositions,
    sentence_subjects,
    speech_cues,
)
from newspack.nlp.figures import Figure, extract
from newspack.nlp.model import BATCH_SIZE, load_model
from newspack.nlp.spans import SpanFound, spans_in


@dataclass(frozen=True)
class TextAnalysis:
    """What the model found in one text."""

    spans: tuple[SpanFound, ...]
    figures: tuple[Figure, ...]
    cues: tuple[SpeechCue, ...] = ()
    appositions: tuple[Apposition, ...] = ()
    subjects: tuple[Subject, ...] = ()


Analyses = dict[str, TextAnalysis]  # text -> its analysis


def source_texts(parsed: ParsedDump) -> list[str]:
    """The texts of a dump that are analysed (sources.version_texts of each version)."""
    return [text for version in parsed.versions for _, _, text, _ in version_texts(version)]


def analyse_texts(texts: Iterable[str]) -> Analyses:
    """Each distinct text's analysis, from one batched spaCy pass."""
    unique = list(dict.fromkeys(texts))
    docs = load_model().pipe(unique, batch_size=BATCH_SIZE)
    return {
        text: TextAnalysis(
            spans=tuple(spans_in(text, doc)),
            figures=tuple(extract(text, doc)),
            cues=speech_cues(doc),
            appositions=appositions(doc),
            subjects=sentence_subjects(doc),
        )
        for text, doc in zip(unique, docs, strict=True)
    }
