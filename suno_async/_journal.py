"""
The journal of a bulk run: one SQLite file that says, for each request, whether it may have
reached the service, so a re-run after a crash never pays twice.

The file is plain SQLite (``python -m sqlite3 run.db``, or any SQLite browser), with its
schema version in ``PRAGMA user_version`` (now 1)::

    CREATE TABLE meta (          -- one row per setting of the journal
        name  TEXT PRIMARY KEY,  -- 'created_at' (unix time), 'count' (requests in the run)
        value TEXT NOT NULL
    );
    CREATE TABLE requests (      -- one row per request of the run
        idx        INTEGER PRIMARY KEY,  -- its position in the request list, from 0
        key        TEXT NOT NULL UNIQUE, -- sha256 of the position and the canonical request
        request    TEXT NOT NULL,        -- the request as canonical JSON (GenerateRequest fields)
        state      TEXT NOT NULL,        -- see below
        task_ids   TEXT NOT NULL,        -- JSON list of the task ids the service answered
        paths      TEXT NOT NULL,        -- JSON list of the files downloaded for it
        error      TEXT,                 -- why it failed or was not sent, if it was not
        attempts   INTEGER NOT NULL,     -- how many times it was marked `sending`
        updated_at REAL NOT NULL         -- unix time of the last change
    );

States, in order: ``planned`` (never sent) -> ``sending`` (committed to disk *before* the
paid POST) -> ``started`` (task ids committed as soon as the answer is read) -> ``done`` or
``failed`` (every task finished; failed when any of them failed) -> ``downloaded`` (done, and
every file asked for is on disk). A POST the service refused without charging goes back to
``planned``. A row still in ``sending`` when a run opens was cut off mid-call by a crash: the
call *may* have been charged, so the run reports it as *unknown* and never re-sends it unless
asked to (``resend_unknown=True``).

Every write is a short transaction on one writer thread, so the event loop never waits on the
disk; writes queued together are committed together. A write the disk refuses (full, or a
file size limit) is kept and tried again with every later one and at close: a run whose disk
fills up goes on collecting what it started, and its states reach the file once there is
room. ``synchronous=FULL`` puts every commit on disk before it returns, so the ``sending``
written before a paid POST survives a power cut too: a lost one would send that request again
on resume. The journal runs in SQLite's
``DELETE`` mode, not WAL: every commit lands in the main file, so the main file alone is the
whole journal once no run holds it (a ``-journal`` side file exists only during a commit and
is rolled back when a crash leaves it). Copying or moving the main file never loses a state.
Only one run may hold a journal at a time: an exclusive lock on the journal file itself (reached
by any name, a symlink or a hard link), which the operating system releases when the process
dies, so a crash never leaves a stale lock. A request moves to ``sending`` only from the state
this run last saw it in; a row another writer moved is never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Final, Literal

import anyio
import attrs

from ._checks import show
from ._errors import SunoError
from ._models import GenerateRequest

__all__ = [
    "Journal",
    "JournalConflictError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalRow",
    "export_journal",
    "request_key",
]

SCHEMA_VERSION: Final = 1
State = Literal["planned", "sending", "started", "done", "failed", "downloaded"]
STATES: Final[tuple[State, ...]] = (
    "planned",
    "sending",
    "started",
    "done",
    "failed",
    "downloaded",
)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    idx        INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    request    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN
                   ('planned', 'sending', 'started', 'done', 'failed', 'downloaded')),
    task_ids   TEXT NOT NULL DEFAULT '[]',
    paths      TEXT NOT NULL DEFAULT '[]',
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
"""


class JournalError(SunoError):
    """The journal file cannot be used (not a journal, a newer schema, a disk error)."""


class JournalLockedError(JournalError):
    """Another run holds this journal; two runs on one journal could pay twice."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the journal {path} is in use by another run (under this name or another link "
            "to the same file); wait for that run to end or stop it, then run again: it "
            "resumes where it stopped"
        )
        self.path = path


class JournalMismatchError(JournalError):
    """
    The request list differs from the journal's in a request the journal already holds
    (changed, moved or removed): resuming would pay for the wrong songs. Requests added at
    the end of the list are taken in, not refused.
    """

    def __init__(
        self, path: Path, index: int, expected_key: str | None, found_key: str | None, what: str
    ) -> None:
        # Never "use a new journal": that pays again for every request this one has sent.
        super().__init__(
            f"the journal {path} was made from a different request list: {what}; "
            "put the requests it holds back as they were, in the same order (export_journal "
            "lists them), and add new requests only at the end of the list"
        )
        self.path = path
        self.index = index
        self.expected_key = expected_key
        self.found_key = found_key


class JournalConflictError(JournalError):
    """A request's row was not in the state this run last saw: another writer moved it."""

    def __init__(self, path: Path, index: int) -> None:
        super().__init__(
            f"request {index} of the journal {path} was changed by another writer; it is not "
            "sent again: stop the other run, then run again to resume"
        )
        self.path = path
        self.index = index


def canonical_request(request: GenerateRequest) -> str:
    """The request as JSON with sorted keys: the same request always gives the same text."""
    return json.dumps(attrs.asdict(request), sort_keys=True, separators=(",", ":"))


def request_key(index: int, request: GenerateRequest) -> str:
    """
    A stable key for the request at ``index``: the same request list always gives the
    same keys, in any process, so a journal can be matched against the list again.
    """
    text = f"{index}\n{canonical_request(request)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@attrs.frozen
class JournalRow:
    """One request's row as the journal holds it."""

    index: int
    key: str
    state: State
    task_ids: tuple[int, ...] = ()
    paths: tuple[str, ...] = ()
    error: str | None = None
    attempts: int = 0


class _FileLock:
    """
    An exclusive lock on the journal file itself, which the operating system drops when the
    process ends, however it ends. It is taken on the opened file, not on a name, so a
    symlink or a hard link to the same journal meets the same lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        # No flock on Windows: a byte lock on the database would block SQLite's own reads, so
        # a lock file beside the journal's real path stands in for it. Elsewhere the journal
        # itself is locked (an empty new file is a new SQLite database).
        windows = sys.platform == "win32"
        handle = (Path(f"{self.path.resolve()}.lock") if windows else self.path).open("a+b")
        try:
            if sys.platform == "win32":
                import msvcrt  # noqa: PLC0415  (Windows only)

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl  # noqa: PLC0415  (POSIX only)

                # flock, not fcntl: SQLite's own fcntl locks live beside it untouched.
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file drops the lock
            self._file = None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # Another program's database is left as it is: not taken for a new journal.
        tables = {
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        if tables - _TABLES:
            conn.close()
            msg = (
                f"{path} is another program's database (it holds {sorted(tables)[0]!r}), not "
                "a journal; pass a new file name"
            )
            raise JournalError(msg)
        # DELETE, not WAL: in WAL mode the state lives in `-wal` until a checkpoint, and a
        # journal copied or moved without it starts afresh and pays every request again.
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = f"{path} is not a journal (SQLite said: {exc}); pass a new file name"
        raise JournalError(msg) from exc
    return conn


def _check_schema(conn: sqlite3.Connection, path: Path, to: str) -> None:
    """Refuse a journal a newer suno-async wrote: its rows may mean what this one cannot know."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        msg = (
            f"{path} has journal schema {version}, newer than this suno-async reads "
            f"({SCHEMA_VERSION}); upgrade suno-async to {to} it"
        )
        raise JournalError(msg)


#: The tables a journal holds.
_TABLES: Final = frozenset({"meta", "requests"})


def _row(values: Sequence[Any]) -> JournalRow:
    idx, key, state, task_ids, paths, error, attempts = values
    return JournalRow(
        index=idx,
        key=key,
        state=state,
        task_ids=tuple(json.loads(task_ids)),
        paths=tuple(json.loads(paths)),
        error=error,
        attempts=attempts,
    )


_UPDATE: Final = (
    "UPDATE requests SET state = ?, updated_at = ?, error = ?, "
    "task_ids = COALESCE(?, task_ids), paths = COALESCE(?, paths), attempts = attempts + ? "
    "WHERE idx = ?"
)
#: The same change, made only while the row is still in the state the run last saw.
_UPDATE_IF: Final = _UPDATE + " AND state = ?"
_SELECT: Final = "SELECT idx, key, state, task_ids, paths, error, attempts FROM requests"

Op = tuple[str, tuple[Any, ...]]
#: A queued change (None: only a flush) and the future to settle once it is on disk.
_Item = tuple[Op | None, "asyncio.Future[None] | None"]


class Journal:
    """
    An open journal: load or create it for a request list, then record changes.

    Writes go to one thread of their own, through a queue; :meth:`record` returns at once and
    :meth:`flush` waits until everything recorded so far is on disk. Open it with
    :meth:`open` (which takes the lock) and close it with :meth:`aclose`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _FileLock(path)
        self._conn: sqlite3.Connection | None = None
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        # Recorded changes whose transaction failed, oldest first; the writer thread's own.
        self._unwritten: list[Op] = []
        #: CPU seconds the writer thread spent writing, for benchmarks.
        self.cpu_seconds = 0.0
        self.transactions = 0

    # --- opening ------------------------------------------------------------------------

    async def open(
        self,
        requests: Sequence[GenerateRequest],
        *,
        write: bool = True,
        on_new: Callable[[], None] | None = None,
    ) -> list[JournalRow]:
        """
        Lock, check and load the journal for ``requests``: created when new, and requests
        added at the end of the list are added to it. With ``write=False`` (a dry run) the
        new rows are returned but not written. ``on_new`` is called, under the lock, before
        a new journal is written: what it raises refuses the run and leaves the file as new.
        """
        self._loop = asyncio.get_running_loop()
        keys = [request_key(i, r) for i, r in enumerate(requests)]
        texts = [canonical_request(r) for r in requests]
        try:
            load = functools.partial(self._open_sync, write=write, on_new=on_new)
            rows = await anyio.to_thread.run_sync(load, keys, texts, requests)
        except SunoError:
            raise
        except (OSError, ValueError, sqlite3.Error) as exc:  # a folder or file it cannot open
            msg = f"cannot open the journal {self.path} ({exc}); pass a file in a writable folder"
            raise JournalError(msg) from exc
        self._thread = threading.Thread(
            target=self._writer,
            args=(self._conn, self._loop),
            name=f"suno-async journal {self.path.name}",
            daemon=True,
        )
        self._thread.start()
        return rows

    def _open_sync(
        self,
        keys: list[str],
        texts: list[str],
        requests: Sequence[GenerateRequest],
        *,
        write: bool,
        on_new: Callable[[], None] | None,
    ) -> list[JournalRow]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire():
            raise JournalLockedError(self.path)
        try:
            self._conn = conn = _connect(self.path)
            _check_schema(conn, self.path, "resume")
            try:
                return self._load_or_create(conn, keys, texts, requests, write=write, on_new=on_new)
            except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: a row not JSON
                msg = f"{self.path} is not a usable journal ({exc})"
                raise JournalError(msg) from exc
        except BaseException:
            self._close_sync()
            raise

    def _load_or_create(
        self,
        conn: sqlite3.Connection,
        keys: list[str],
        texts: list[str],
        requests: Sequence[GenerateRequest],
        *,
        write: bool,
        on_new: Callable[[], None] | None,
    ) -> list[JournalRow]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            rows = [_row(v) for v in conn.execute(_SELECT + " ORDER BY idx")]
            self._check(rows, keys, requests)
            if len(rows) < len(keys):  # a new journal, or requests added at the end
                now = time.time()
                meta = [("count", str(len(keys)))]
                if not rows:
                    if on_new is not None:
                        on_new()
                    meta.append(("created_at", repr(now)))
                if write:
                    first = len(rows)
                    conn.executemany(
                        "INSERT INTO requests (idx, key, request, state, updated_at) "
                        "VALUES (?, ?, ?, 'planned', ?)",
                        [(i, keys[i], texts[i], now) for i in range(first, len(keys))],
                    )
                    conn.executemany(
                        "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", meta
                    )
                rows += [JournalRow(i, keys[i], "planned") for i in range(len(rows), len(keys))]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return rows

    def _check(
        self, rows: list[JournalRow], keys: list[str], requests: Sequence[GenerateRequest]
    ) -> None:
        """Every request the journal holds is the list's at the same place; more may follow."""
        for index, (row, key) in enumerate(zip(rows, keys, strict=False)):
            if row.index != index or row.key != key:
                title = show(requests[index].title)
                raise JournalMismatchError(
                    self.path,
                    index,
                    key,
                    row.key,
                    f"request {index} (title {title}) is not the journal's request {index}",
                )
        if len(rows) > len(keys):
            index = len(keys)
            raise JournalMismatchError(
                self.path,
                index,
                None,
                rows[index].key,
                f"the journal holds {len(rows)} requests, the list only {len(keys)} (requests "
                f"from {index} on are missing: the journal needs them so as not to pay twice)",
            )

    # --- writing ------------------------------------------------------------------------

    def record(self, op: Op) -> None:
        """
        Queue one change; it is committed with whatever else is queued at that moment.
        Once a write has failed it is still queued, and tried again with each later one.
        """
        self._queue.put((op, None))

    def failure(self) -> JournalError | None:
        """Why the journal could not be written, if a write failed; None while all is well."""
        return None if self._failure is None else self._journal_failed()

    def unsaved(self) -> frozenset[int]:
        """
        The requests whose recorded changes are not on disk (their writes failed and failed
        again since): read it once :meth:`flush` or :meth:`aclose` has returned.
        """
        return frozenset(op[1][6] for op in self._unwritten)

    async def commit(self, op: Op) -> None:
        """Record one change and return once it is on disk."""
        if self._failure is not None:
            raise self._journal_failed()
        done = self._new_future()
        self._queue.put((op, done))
        await done

    async def flush(self) -> None:
        """Return once every change recorded so far is on disk."""
        if self._thread is None or not self._thread.is_alive():
            return
        done = self._new_future()
        self._queue.put((None, done))
        await done

    def set_state(
        self,
        index: int,
        state: State,
        *,
        task_ids: Iterable[int] | None = None,
        paths: Iterable[str] | None = None,
        error: str | None = None,
        only_from: State | None = None,
    ) -> Op:
        """
        The change that moves request ``index`` to ``state`` (pass it to record/commit).
        With ``only_from``, it moves the row only while it is in that state; :meth:`commit`
        raises :class:`JournalConflictError` when it was not.
        """
        params = (
            state,
            time.time(),
            error,
            None if task_ids is None else json.dumps(list(task_ids)),
            None if paths is None else json.dumps(list(paths)),
            1 if state == "sending" else 0,
            index,
        )
        if only_from is None:
            return _UPDATE, params
        return _UPDATE_IF, (*params, only_from)

    def _new_future(self) -> asyncio.Future[None]:
        if self._loop is None:
            msg = "the journal is not open"
            raise RuntimeError(msg)
        return self._loop.create_future()

    def _journal_failed(self) -> JournalError:
        msg = (
            f"the journal {self.path} could not be written ({self._failure}); "
            "nothing more is sent: free disk space or fix the file, then run again to resume"
        )
        return JournalError(msg)

    def _writer(self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():  # the only consumer: not empty means get succeeds
                batch.append(self._queue.get_nowait())
            stop = None in batch
            items = [item for item in batch if item is not None]
            started = time.thread_time()
            error: BaseException | None = None
            conflicts: set[int] = set()  # the items whose conditional change matched no row
            # Once a write failed, a change that must be on disk before the caller acts (a
            # `sending` before a paid POST) is refused at once; recorded ones are retried.
            refused = self._failure is not None
            retried, self._unwritten = self._unwritten, []
            recorded = [op for op, done in items if op is not None and done is None]
            ops = [
                (position, op)
                for position, (op, done) in enumerate(items)
                if op is not None and not (refused and done is not None)
            ]
            if retried or ops:
                try:
                    conn.execute("BEGIN")
                    for op in retried:
                        conn.execute(*op)
                    for position, op in ops:
                        cursor = conn.execute(*op)
                        if op[0] == _UPDATE_IF and cursor.rowcount != 1:
                            conflicts.add(position)
                    conn.execute("COMMIT")
                    self.transactions += 1
                except sqlite3.Error as exc:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    self._failure = error = exc
                    self._unwritten = [*retried, *recorded]
            self.cpu_seconds += time.thread_time() - started
            for position, (change, done) in enumerate(items):
                if done is not None:
                    conflict = change if position in conflicts else None
                    failed = error if change is None else (error or self._failure)
                    self._resolve(loop, done, failed, conflict)
            if stop:
                return

    def _resolve(
        self,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[None],
        error: BaseException | None,
        conflict: Op | None = None,
    ) -> None:
        def settle() -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(self._journal_failed())
            elif conflict is not None:
                done.set_exception(JournalConflictError(self.path, conflict[1][6]))
            else:
                done.set_result(None)

        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle)

    # --- closing ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Write everything queued, then close the file and drop the lock."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            await anyio.to_thread.run_sync(thread.join)
            self._thread = None
        await anyio.to_thread.run_sync(self._close_sync)

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._lock.release()


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every request row of a journal, as plain dicts (no lock needed: reads wait out commits)."""
    source = Path(path)
    if not source.exists():
        msg = f"no journal at {source}"
        raise JournalError(msg)
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:  # a folder in its place, say
        msg = f"{source} is not a readable journal ({exc})"
        raise JournalError(msg) from exc
    try:
        _check_schema(conn, source, "read")
        cursor = conn.execute(
            "SELECT idx, key, state, task_ids, paths, error, attempts, updated_at, request "
            "FROM requests ORDER BY idx"
        )
        return [
            {
                "index": idx,
                "key": key,
                "state": state,
                "task_ids": json.loads(task_ids),
                "paths": json.loads(paths),
                "error": error,
                "attempts": attempts,
                "updated_at": updated_at,
                "request": json.loads(request),
            }
            for idx, key, state, task_ids, paths, error, attempts, updated_at, request in cursor
        ]
    except (sqlite3.Error, ValueError) as exc:  # not SQLite, not ours, or a row not JSON
        msg = f"{source} is not a readable journal ({type(exc).__name__}: {exc})"
        raise JournalError(msg) from exc
    finally:
        conn.close()


def export_journal(path: str | os.PathLike[str], out: str | os.PathLike[str] | IO[str]) -> int:
    """
    Write the journal at ``path`` as JSON Lines, one request per line in order, to ``out``
    (a file name or an open text file); returns the number of lines. Safe while a run is
    going on: it reads a consistent snapshot.
    """
    rows = read_journal(path)
    if isinstance(out, (str, os.PathLike)):
        with Path(out).open("w", encoding="utf-8") as handle:
            return _write_lines(rows, handle)
    return _write_lines(rows, out)


def _write_lines(rows: list[dict[str, Any]], handle: IO[str]) -> int:
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return len(rows)
