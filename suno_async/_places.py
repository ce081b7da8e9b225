"""
Where each watched task id stands: in a batch, waiting out a delay, or asked about alone.

Batches are long-lived: an entry's place is the batch dict it is polled in, and it stays
there tick after tick while its task runs, its query out or back. A tick only tops the
batches up with the ids that joined since and folds the emptiest ones into the others, so
ten thousand running tasks cost a few hundred moves a tick rather than ten thousand; and
a settled entry leaves its batch by a single ``del``, wherever the batch is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import islice

from ._watched import Entry

__all__ = ["Places"]

Batch = dict[int, Entry]


class Places:
    """Every watched entry, each in exactly one place (``entry.place``), or gone (None)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        # Batches whose query is not out, and entries not yet in a batch.
        self._idle: list[Batch] = []
        self._joining: Batch = {}
        # Waiting out a first poll or a backoff; asked about alone (missing from batch
        # answers, or refused in a batch).
        self.waiting: dict[int, Entry] = {}
        self.single: dict[int, Entry] = {}
        self._single_out: dict[int, Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self.entries.values()))

    def add(self, entry: Entry, *, due: bool) -> None:
        """A new entry: batched at once when ``due``, else waiting for its ``not_before``."""
        self.entries[entry.task_id] = entry
        place = self._joining if due else self.waiting
        place[entry.task_id] = entry
        entry.place = place

    def forget(self, entry: Entry) -> None:
        """Take an entry out of its place and out of the watch; a gone one is left alone."""
        place = entry.place
        if place is not None:
            entry.place = None
            del place[entry.task_id]
            del self.entries[entry.task_id]

    def clear(self) -> list[Entry]:
        """Forget every entry at once; returns them."""
        entries = list(self.entries.values())
        for entry in entries:
            entry.place = None
        self.entries, self._idle, self._joining = {}, [], {}
        self.waiting, self.single, self._single_out = {}, {}, {}
        return entries

    def to_single(self, entry: Entry) -> None:
        self._move(entry, self.single)

    def to_waiting(self, entry: Entry) -> None:
        self._move(entry, self.waiting)

    def to_batches(self, entry: Entry) -> None:
        """Into a batch from the next tick on; an entry in a batch already stays in it."""
        place = entry.place
        if place is self.waiting or place is self.single or place is self._single_out:
            self._move(entry, self._joining)

    def _move(self, entry: Entry, where: dict[int, Entry]) -> None:
        place = entry.place
        if place is not None and place is not where:
            del place[entry.task_id]
            where[entry.task_id] = entry
            entry.place = where

    def wake_due(self, now: float, miss_limit: int) -> None:
        """Entries done waiting (first poll, backoff) join the batches or the single checks."""
        for entry in [e for e in self.waiting.values() if e.not_before <= now]:
            alone = entry.alone or entry.misses >= miss_limit
            self._move(entry, self.single if alone else self._joining)

    def due(self) -> bool:
        """Whether a tick has anything to ask about."""
        return bool(self._idle or self._joining or self.single)

    def take_batches(self, size: int) -> list[Batch]:
        """
        The batches to ask about this tick: as few as ``size`` allows, each out until
        :meth:`give_back`. The fullest batches are kept whole; the ids that joined, and those
        of the emptiest batches when fewer batches will do, fill the others up.
        """
        batches = [batch for batch in self._idle if batch]
        self._idle = []
        joining, self._joining = self._joining, {}
        loose = list(joining.values())
        total = len(loose) + sum(map(len, batches))
        if not total:
            return []
        needed = math.ceil(total / size)
        batches.sort(key=len, reverse=True)
        for batch in batches[needed:]:
            loose.extend(batch.values())
        del batches[needed:]
        for batch in batches:
            while len(batch) > size:  # the page size learnt smaller meanwhile
                task_id = next(reversed(batch))
                loose.append(batch.pop(task_id))
        fill = iter(loose)
        for batch in batches:
            for entry in islice(fill, size - len(batch)):
                batch[entry.task_id] = entry
                entry.place = batch
        while len(batches) < needed:
            batch = {}
            for entry in islice(fill, size):
                batch[entry.task_id] = entry
                entry.place = batch
            batches.append(batch)
        return batches

    def give_back(self, batch: Batch) -> None:
        """A batch whose query is back: asked about again next tick, unless it emptied."""
        if batch:
            self._idle.append(batch)

    def take_single(self) -> list[Entry]:
        """The entries to ask about alone this tick; each is out until :meth:`single_back`."""
        entries = list(self.single.values())
        for entry in entries:
            self._move(entry, self._single_out)
        return entries

    def single_back(self, entry: Entry) -> None:
        """An entry whose single check is back, and that went nowhere else: asked again."""
        if entry.place is self._single_out:
            self._move(entry, self.single)
