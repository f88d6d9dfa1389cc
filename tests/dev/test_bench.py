"""The benchmark's corpus generator: deterministic, and every article parses back."""

from __future__ import annotations

from newspack.dev.bench import make_corpus
from newspack.ingest.parse import parse_dump
from newspack.ingest.read import read_dump


def test_corpus_is_deterministic_and_parses_into_its_articles(tmp_path):
    first = make_corpus(tmp_path / "a", 14, seed=7)
    second = make_corpus(tmp_path / "b", 14, seed=7)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert len(first) == 3  # six articles per dump
    versions = [v for path in first for v in parse_dump(read_dump(path)).versions]
    assert len(versions) == 14
    assert len({v.title for v in versions}) == 14  # every article has a title of its own
    assert all(v.paragraphs and v.bullets for v in versions)
    other = make_corpus(tmp_path / "c", 14, seed=8)
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in first]


def test_the_first_dumps_of_a_larger_corpus_are_the_smaller_corpus(tmp_path):
    """What `bench --growth` builds on: one cold build of the largest size serves them all."""
    small = make_corpus(tmp_path / "small", 12)
    large = make_corpus(tmp_path / "large", 30)
    assert [(p.name, p.read_bytes()) for p in small] == [
        (p.name, p.read_bytes()) for p in large[: len(small)]
    ]
    assert len(large) > len(small)
