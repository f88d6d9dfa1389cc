"""Stage 4, analyse: the NLP pass over each dump's texts, the one costly stage.

Every title, bullet, body paragraph and photo caption is read once by spaCy, and what the
later stages need from the parse is kept as plain values: the model's entity spans, already
cleaned (entities.spans_in), and the figures (figures.extract), each with its sentence. No
spaCy Doc outlives its batch, so memory does not grow with the corpus, and a dump's
analysis can run in a worker process and be cached between builds (pipeline.py, cache.py).

The analysis of a text depends on the text alone: spaCy's output does not depend on which
texts share a batch (tests/test_parallel.py checks it), which is what makes a parallel or
cached build identical to a one-process build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newspack.entities import BATCH_SIZE, SpanFound, load_model, spans_in
from newspack.figures import Figure, extract
from newspack.parse import ParsedDump


@dataclass(frozen=True)
class TextAnalysis:
    """What the model found in one text."""

    spans: tuple[SpanFound, ...]
    figures: tuple[Figure, ...]


Analyses = dict[str, TextAnalysis]  # text -> its analysis


def source_texts(parsed: ParsedDump) -> list[str]:
    """The texts entities and figures are looked for in (entities.sources, per dump):
    titles, bullets, body paragraphs and captions."""
    texts = []
    for version in parsed.versions:
        texts.append(version.title)
        texts += [text for text, _ in version.bullets]
        texts += [p.text for p in version.paragraphs if p.kind == "body"]
        texts += [p.caption for p in version.photos]
    return texts


def analyse_texts(texts: Iterable[str]) -> Analyses:
    """Each distinct text's analysis, from one batched spaCy pass."""
    unique = list(dict.fromkeys(texts))
    docs = load_model().pipe(unique, batch_size=BATCH_SIZE)
    return {
        text: TextAnalysis(tuple(spans_in(text, doc)), tuple(extract(text, doc)))
        for text, doc in zip(unique, docs, strict=True)
    }
