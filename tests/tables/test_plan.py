"""Identify stage, the plan: DuckDB's stories and versions against a plain union-find.

The oracle below is the in-memory algorithm the build used before the plan moved to DuckDB
(tables/plan.py): union sightings that share a key, number contents by first sighting.
Random dumps whose versions share keys in chains, out of crawl order, must be placed alike.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from newspack.ingest.keys import DumpKeys, VersionKeys
from newspack.ingest.read import crawl_sort_key
from newspack.tables.ids import article_id_for
from newspack.tables.plan import plan_identity


def _oracle(dumps: list[DumpKeys]) -> dict[tuple[str, int], tuple]:
    ordered = sorted(dumps, key=lambda d: d.sort_key)
    sightings = [(d.dump_id, i, v) for d in ordered for i, v in enumerate(d.versions)]
    parent = list(range(len(sightings)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first_with_key: dict[str, int] = {}
    for i, (_, _, version) in enumerate(sightings):
        for key in version.keys:
            j = first_with_key.setdefault(key, i)
            a, b = find(i), find(j)
            parent[max(a, b)] = min(a, b)
    stories: dict[int, list[int]] = {}
    for i in range(len(sightings)):
        stories.setdefault(find(i), []).append(i)
    placed = {}
    for members in stories.values():
        article_id = article_id_for(sightings[members[0]][2].title)
        numbers: dict[str, int] = {}
        slots = {}
        for i in members:
            digest = sightings[i][2].content_sha256
            duplicate = digest in numbers
            numbers.setdefault(digest, len(numbers) + 1)
            slots[i] = [article_id, numbers[digest], duplicate, False]
        last = max((i for i in members if not slots[i][2]), key=lambda i: slots[i][1])
        slots[last][3] = True
        for i, slot in slots.items():
            dump_id, index, _ = sightings[i]
            first, final = sightings[members[0]][0], sightings[last][0]
            placed[(dump_id, index)] = (*slot, len(numbers), first, final)
    return placed


def _planned(dumps: list[DumpKeys]) -> dict[tuple[str, int], tuple]:
    plan = plan_identity(dumps)
    try:
        placed = {}
        for place, dump_id in plan.dumps():
            assert dumps[place].dump_id == dump_id
            for index, slot in enumerate(plan.placements_of(dump_id)):
                placed[(dump_id, index)] = (
                    slot.article_id,
                    slot.version,
                    slot.duplicate,
                    slot.canonical,
                    slot.version_count,
                    slot.first_dump_id,
                    slot.last_dump_id,
                )
        return placed
    finally:
        plan.close()


@st.composite
def _dumps(draw) -> list[DumpKeys]:
    """Dumps whose versions draw keys and contents from small pools, so that stories chain
    across dumps (a title shared with one, a lead with another) and contents repeat."""
    count = draw(st.integers(1, 6))
    dumps = []
    for n in range(count):
        versions = []
        for _ in range(draw(st.integers(0, 4))):
            keys = draw(st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True))
            content = draw(st.integers(0, 5))
            versions.append(
                VersionKeys(f"Title {keys[0]}", tuple(f"k{k}" for k in keys), f"sha{content}")
            )
        dump_id = f"{n:03d}_{n:08x}"
        dumps.append(DumpKeys(dump_id, crawl_sort_key(n, dump_id), tuple(versions)))
    random.Random(draw(st.integers(0, 99))).shuffle(dumps)  # the plan takes any order
    return dumps


@settings(max_examples=60, deadline=None)
@given(_dumps())
def test_stories_and_versions_are_those_of_a_union_find(dumps):
    assert _planned(dumps) == _oracle(dumps)


def test_a_chain_of_keys_longer_than_one_round_is_one_story():
    # Each version shares a key only with the next: the components need several rounds.
    versions = [VersionKeys(f"T{i}", (f"k{i}", f"k{i + 1}"), f"sha{i}") for i in range(12)]
    dumps = [
        DumpKeys(f"{i:03d}_x", crawl_sort_key(i, f"{i:03d}_x"), (v,))
        for i, v in enumerate(reversed(versions))
    ]
    placed = _planned(dumps)
    assert len({slot[0] for slot in placed.values()}) == 1
    assert sorted(slot[1] for slot in placed.values()) == list(range(1, 13))
    assert placed == _oracle(dumps)


def test_a_dump_read_out_of_the_planned_order_gets_no_placements():
    """identify.dump_rows then refuses it (tests/tables/test_identify.py)."""
    version = VersionKeys("T", ("k",), "sha")
    dumps = [DumpKeys(f"{i:03d}_x", crawl_sort_key(i, f"{i:03d}_x"), (version,)) for i in (1, 0)]
    plan = plan_identity(dumps)
    try:
        assert plan.dumps() == [(1, "000_x"), (0, "001_x")]
        assert plan.placements_of("001_x") == []
        [first] = plan.placements_of("000_x")
        assert (first.version, first.duplicate, first.canonical) == (1, False, True)
        [second] = plan.placements_of("001_x")
        assert (second.version, second.duplicate, second.canonical) == (1, True, False)
    finally:
        plan.close()
