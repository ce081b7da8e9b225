"""Where watched ids stand between ticks: batches kept whole, topped up, folded when fewer do."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from suno_async._places import Places
from suno_async._watched import Entry


def _entry(task_id: int) -> Entry:
    return Entry(task_id, not_before=0.0)


def _check(places: Places, batches: list[dict[int, Entry]], size: int, outstanding: int) -> None:
    """Each outstanding entry is in exactly one batch it names as its place; none is over size."""
    assert len(batches) == math.ceil(outstanding / size)
    seen = [task_id for batch in batches for task_id in batch]
    assert len(seen) == len(set(seen)) == outstanding
    for batch in batches:
        assert 0 < len(batch) <= size
        assert all(entry.place is batch for entry in batch.values())


@given(
    size=st.integers(1, 12),
    rounds=st.lists(
        st.tuples(st.integers(0, 30), st.lists(st.integers(0, 200), max_size=40)),
        min_size=1,
        max_size=6,
    ),
)
def test_every_tick_asks_about_each_id_once_in_as_few_batches_as_size_allows(
    size: int, rounds: list[tuple[int, list[int]]]
) -> None:
    """New ids join, settled ids leave between ticks: batches stay whole and minimal."""
    places = Places()
    next_id = 0
    for joining, leaving in rounds:
        for _ in range(joining):
            places.add(_entry(next_id), due=True)
            next_id += 1
        for task_id in leaving:
            entry = places.entries.get(task_id)
            if entry is not None:
                places.forget(entry)
        batches = places.take_batches(size)
        _check(places, batches, size, len(places))
        for batch in batches:
            places.give_back(batch)


def test_a_tick_moves_only_the_ids_it_must() -> None:
    """Running ids stay in their batch; the emptiest batch is folded into the others' room."""
    places = Places()
    for task_id in range(40):
        places.add(_entry(task_id), due=True)
    first = places.take_batches(10)
    for batch in first:
        places.give_back(batch)
    # One id settles in each of the first three batches: 37 fit in four batches still.
    for batch in first[:3]:
        places.forget(next(iter(batch.values())))
    second = places.take_batches(10)
    assert {id(batch) for batch in second} == {id(batch) for batch in first}
    for batch in second:
        places.give_back(batch)
    # Seven more settle: 30 fit in three batches, so the emptiest one is folded.
    for batch in first[:3]:
        for entry in list(batch.values())[:2]:
            places.forget(entry)
    places.forget(next(iter(first[3].values())))
    third = places.take_batches(10)
    _check(places, third, 10, 30)
    assert sum(batch is old for batch in third for old in first) == 3


def test_waiting_and_single_entries_join_the_batches_when_their_answer_comes() -> None:
    """An entry back from a delay or a single check joins; one in a batch stays in it."""
    places = Places()
    waiting, single, batched = _entry(1), _entry(2), _entry(3)
    places.add(waiting, due=False)
    places.add(single, due=True)
    places.add(batched, due=True)
    places.to_single(single)
    (batch,) = places.take_batches(10)
    assert batch == {3: batched}
    assert places.take_single() == [single]
    for entry in (waiting, single, batched):
        places.to_batches(entry)
    assert batched.place is batch
    places.give_back(batch)
    places.single_back(single)  # it went to the batches meanwhile: it stays there
    (batch,) = places.take_batches(10)
    assert set(batch) == {1, 2, 3}
