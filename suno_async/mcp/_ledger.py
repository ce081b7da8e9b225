"""
The MCP server's ledger of paid calls: one SQLite file in the state folder, so the points cap
and the ``request_id`` replays hold across restarts.

Schema (``PRAGMA user_version`` 1)::

    CREATE TABLE calls (
        request_id TEXT NOT NULL,     -- the agent's request_id, or one the server made up
        part       INTEGER NOT NULL,  -- the paid POST's position within the call, from 0
        tool       TEXT NOT NULL,     -- 'generate' or 'aligned_lyrics'
        args       TEXT NOT NULL,     -- the whole call's arguments as canonical JSON
        kind       TEXT NOT NULL,     -- what its tasks produce (a TaskKind value)
        points     INTEGER NOT NULL,  -- what the POST costs
        state      TEXT NOT NULL,     -- planned, sending, started, unknown or refused
        task_ids   TEXT NOT NULL,     -- JSON list of the task ids the service answered
        error      TEXT,              -- why it was refused, or why it may have been charged
        created_at REAL NOT NULL,     -- unix time the call was first seen
        PRIMARY KEY (request_id, part)
    );

A part is committed as ``sending`` *before* its POST and as ``started`` with its task ids
once the answer is read; a POST the service refused without charging is ``refused``, one
that may have reached it without an answer is ``unknown``. A ``sending`` row found when the
ledger opens was cut off by a crash: it becomes ``unknown`` and is never sent again. Spent
points are those of ``sending``, ``started`` and ``unknown`` parts. As in the bulk journal
(``_journal.py``), the file runs in rollback mode with ``synchronous=FULL`` (every commit on
disk, in the main file alone) and is held by one process at a time through a lock the
operating system drops when the process dies.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import anyio
import attrs

from .._journal import _FileLock

__all__ = ["CHARGED", "Ledger", "LedgerError", "Part", "PartState"]

PartState = Literal["planned", "sending", "started", "unknown", "refused"]
#: The states whose points count as spent: the POST may have reached the service.
CHARGED: Final = ("sending", "started", "unknown")
#: Each state by its name: the CHECK constraint holds the column to these.
_STATES: Final[dict[str, PartState]] = {
    s: s for s in ("planned", "sending", "started", "unknown", "refused")
}
_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS calls (
    request_id TEXT NOT NULL,
    part       INTEGER NOT NULL,
    tool       TEXT NOT NULL,
    args       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    points     INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN
                   ('planned', 'sending', 'started', 'unknown', 'refused')),
    task_ids   TEXT NOT NULL DEFAULT '[]',
    error      TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (request_id, part)
);
"""


class LedgerError(Exception):
    """The ledger cannot be used: held by another server, unreadable, or from a newer version."""


@attrs.frozen
class Part:
    """One paid POST of a call, as the ledger holds it."""

    request_id: str
    part: int
    tool: str
    args: str
    kind: str
    points: int
    state: PartState
    task_ids: tuple[int, ...] = ()
    error: str | None = None
    created_at: float = 0.0


class Ledger:
    """
    The paid calls of every server run on one state folder. Writes go through a worker
    thread, one at a time, so the event loop never waits on the disk's flush.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "mcp-ledger.sqlite"
        self._lock = _FileLock(self.path)
        self._conn: sqlite3.Connection | None = None
        self._limiter = anyio.CapacityLimiter(1)

    def open(self) -> None:
        """Take the lock, create or check the schema, and turn cut-off sends into unknowns."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire():
            msg = (
                f"the state folder {self.path.parent} is in use by another suno-async mcp "
                "server; stop it, or pass another --state folder (each keeps its own cap)"
            )
            raise LedgerError(msg)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _VERSION:
                conn.close()
                msg = f"{self.path} was written by a newer suno-async; upgrade to use it"
                raise LedgerError(msg)
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={_VERSION}")
            conn.execute(
                "UPDATE calls SET state = 'unknown', error = ? WHERE state = 'sending'",
                ("the server stopped while this POST was in flight: it may have been charged",),
            )
        except sqlite3.DatabaseError as exc:
            self._lock.release()
            msg = f"{self.path} is not a usable ledger (SQLite said: {exc})"
            raise LedgerError(msg) from exc
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._lock.release()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError("the ledger is closed")
        return self._conn

    # --- reads (fast, on the loop: an indexed lookup in a small file) --------------------

    def spent(self) -> int:
        """Points of every POST that may have reached the service, over all runs."""
        query = "SELECT COALESCE(SUM(points), 0) FROM calls WHERE state IN (?, ?, ?)"
        row = self._db().execute(query, CHARGED).fetchone()
        return int(row[0])

    def parts(self, request_id: str) -> list[Part]:
        rows = self._db().execute(
            "SELECT request_id, part, tool, args, kind, points, state, task_ids, error, "
            "created_at FROM calls WHERE request_id = ? ORDER BY part",
            (request_id,),
        )
        return [_part(row) for row in rows]

    def started(self) -> list[Part]:
        """Every part that started tasks, to know their kinds and start times after a restart."""
        rows = self._db().execute(
            "SELECT request_id, part, tool, args, kind, points, state, task_ids, error, "
            "created_at FROM calls WHERE state = 'started'"
        )
        return [_part(row) for row in rows]

    # --- writes (each one a committed transaction, off the loop) -------------------------

    async def plan(self, parts: Sequence[Part]) -> None:
        """Write a new call's parts as planned, in one transaction."""

        def write() -> None:
            with self._db() as conn:
                conn.executemany(
                    "INSERT INTO calls (request_id, part, tool, args, kind, points, state, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, 'planned', ?)",
                    [
                        (p.request_id, p.part, p.tool, p.args, p.kind, p.points, p.created_at)
                        for p in parts
                    ],
                )

        await anyio.to_thread.run_sync(write, limiter=self._limiter)

    async def mark(
        self,
        part: Part,
        state: PartState,
        *,
        task_ids: Sequence[int] = (),
        error: str | None = None,
    ) -> None:
        """Move one part to ``state``; shielded, so a cancelled call still records its ids."""

        def write() -> None:
            with self._db() as conn:
                conn.execute(
                    "UPDATE calls SET state = ?, task_ids = ?, error = ? "
                    "WHERE request_id = ? AND part = ?",
                    (state, json.dumps(list(task_ids)), error, part.request_id, part.part),
                )

        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(write, limiter=self._limiter)


def _part(row: Sequence[object]) -> Part:
    request_id, part, tool, args, kind, points, state, task_ids, error, created_at = row
    return Part(
        request_id=str(request_id),
        part=int(str(part)),
        tool=str(tool),
        args=str(args),
        kind=str(kind),
        points=int(str(points)),
        state=_STATES[str(state)],
        task_ids=tuple(int(i) for i in json.loads(str(task_ids))),
        error=None if error is None else str(error),
        created_at=float(str(created_at)),
    )


def now() -> float:
    """Unix time, for ``created_at``."""
    return time.time()
