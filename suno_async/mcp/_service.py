"""
What the tools do, on one session: the money rules, replays by ``request_id``, waits through
the session's one watcher, downloads into the operator's folder.

One :class:`Service` serves every agent connected to the server: all their waits share the
session's watcher (a few batch queries per tick for every outstanding id together), and all
their paid calls pass one lock, so two agents can never both fit under the same points left.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import anyio
import attrs

from .._bulk import GENERATE_PRICE
from .._client import AsyncSuno
from .._download import MediaKind
from .._errors import SunoError, ValidationError
from .._journal import canonical_request
from .._models import GenerateRequest, StatusChange, TaskHandle, TaskKind, TaskStatus
from ._ledger import Ledger, Part, PartState, now
from ._results import LINKS_NOTE, failure, result_json, status_name, tool_error

__all__ = [
    "ALIGN_PRICE",
    "MAX_IDS",
    "MAX_SONGS",
    "MAX_WAIT_S",
    "Service",
    "Settings",
    "track_statuses",
]

#: Points of one aligned-lyrics call (0.01 CNY); a generate call is GENERATE_PRICE (two songs).
ALIGN_PRICE: Final = 1
#: Generate requests one call may carry: a bigger plan is split by the agent, so no one call
#: runs for minutes.
MAX_SONGS: Final = 50
#: Ids one status, wait or download call may name.
MAX_IDS: Final = 1000
#: The longest a wait may hold its call: hosts time a tool call out after about a minute.
MAX_WAIT_S: Final = 60.0
_CAP_HINT: Final = "restart the server with --max-points N to allow paid calls up to N points"


@attrs.frozen
class Settings:
    """What the operator decided at launch."""

    max_points: int | None
    downloads: Path | None
    dry_run: bool = False


class Service:
    """The tools' work, over one open session and one open ledger."""

    def __init__(
        self,
        suno: AsyncSuno,
        ledger: Ledger,
        settings: Settings,
        statuses: dict[int, TaskStatus],
    ) -> None:
        self.suno = suno
        self.ledger = ledger
        self.settings = settings
        self._money = anyio.Lock()
        #: The last status the watcher saw of each task, fed by the session's own callback
        #: (see track_statuses): the pending ones' status costs no request.
        self.statuses = statuses
        #: What each task started here produces, and when it started (from the ledger).
        self._kinds: dict[int, tuple[TaskKind, float]] = {}
        for part in ledger.started():
            for task_id in part.task_ids:
                self._kinds[task_id] = (TaskKind(part.kind), part.created_at)

    # --- free tools -------------------------------------------------------------------

    async def balance(self) -> dict[str, Any]:
        try:
            points = (await self.suno.balance()).remaining_points
        except SunoError as exc:
            raise tool_error(exc) from None
        return {"points": points, "cny": points / 100, **self._cap()}

    async def estimate(self, songs: int, aligned_lyrics: int) -> dict[str, Any]:
        if songs < 0 or aligned_lyrics < 0:
            raise failure("songs and aligned_lyrics must be 0 or more; call again")
        calls = math.ceil(songs / 2)
        points = calls * GENERATE_PRICE + aligned_lyrics * ALIGN_PRICE
        cap = self._cap()
        left = cap["points_left_under_cap"]
        return {
            "points": points,
            "cny": points / 100,
            "generate_calls": calls,
            "songs": calls * 2,
            "fits_under_cap": left is not None and points <= left,
            **cap,
            "note": (
                f"each generate request is one paid call of {GENERATE_PRICE} points that "
                f"makes two songs; an aligned-lyrics call is {ALIGN_PRICE} point"
            ),
        }

    async def status(self, task_ids: Sequence[int]) -> dict[str, Any]:
        ids = _ids(task_ids)
        try:
            tasks = {task.id: task for task in await self.suno.get_tasks(ids)}
        except SunoError as exc:
            raise tool_error(exc) from None
        out: list[dict[str, Any]] = []
        for task_id in ids:
            task = tasks.get(task_id)
            if task is None:
                out.append({"task_id": task_id, "state": "unknown to the service"})
            elif task.status.finished:
                out.append(self._read(task_id, task))
            else:
                out.append({"task_id": task_id, "state": status_name(task.status)})
        return {"tasks": out, "note": LINKS_NOTE}

    async def wait(self, task_ids: Sequence[int], timeout_s: float) -> dict[str, Any]:
        ids = _ids(task_ids)
        if not 0 <= timeout_s <= MAX_WAIT_S:
            raise failure(f"timeout_s must be from 0 to {MAX_WAIT_S:g}; call again")
        handles = [self._handle(task_id) for task_id in ids]
        finished: dict[int, dict[str, Any]] = {}
        try:
            with anyio.move_on_after(timeout_s):
                async for result in self.suno.as_completed(handles, return_exceptions=True):
                    entry = result_json(result)
                    task_id = getattr(result, "task_id", None)
                    if isinstance(task_id, int):
                        finished[task_id] = entry
        except SunoError as exc:
            raise tool_error(exc) from None
        pending = [
            {"task_id": i, "state": status_name(self.statuses.get(i, TaskStatus.QUEUED))}
            for i in ids
            if i not in finished
        ]
        done = [finished[i] for i in ids if i in finished]
        return {
            "finished": done,
            "pending": pending,
            "next": (
                "call wait again with the pending ids (songs take 1-3 minutes)"
                if pending
                else "all finished: call download to keep the files"
            ),
            "note": LINKS_NOTE,
        }

    async def download(self, task_ids: Sequence[int], media: MediaKind) -> dict[str, Any]:
        folder = self.settings.downloads
        if folder is None:
            raise failure(
                "downloads are off: the operator must restart the server with "
                "--downloads DIR to allow saving files into DIR"
            )
        ids = _ids(task_ids)
        try:
            tasks = {task.id: task for task in await self.suno.get_tasks(ids)}
        except SunoError as exc:
            raise tool_error(exc) from None
        files: list[dict[str, Any]] = []
        for task_id in ids:
            task = tasks.get(task_id)
            if task is None or not task.status.finished:
                state = "unknown to the service" if task is None else status_name(task.status)
                files.append({"task_id": task_id, "error": f"not finished ({state}): wait first"})
                continue
            try:
                song = AsyncSuno.result_of(task, TaskKind.SONG)
                path = await self.suno.download(song, folder, media=media)
            except SunoError as exc:
                files.append({"task_id": task_id, "error": str(tool_error(exc))})
                continue
            files.append({"task_id": task_id, "path": str(path), "title": song.title})
        return {"files": files, "folder": str(folder)}

    # --- paid tools ---------------------------------------------------------------------

    async def generate(
        self, requests: Sequence[GenerateRequest], request_id: str | None
    ) -> dict[str, Any]:
        if not 1 <= len(requests) <= MAX_SONGS:
            raise failure(f"songs must hold 1 to {MAX_SONGS} requests; split the plan")
        args = json.dumps([canonical_request(r) for r in requests])

        async def send(index: int) -> list[int]:
            handles = await self.suno.submit_generate(requests[index])
            return [h.task_id for h in handles]

        parts = [(GENERATE_PRICE, TaskKind.SONG)] * len(requests)
        return await self._paid("generate", args, parts, send, request_id)

    async def aligned_lyrics(
        self, clip_id: str, lyrics: str, request_id: str | None
    ) -> dict[str, Any]:
        args = json.dumps({"clip_id": clip_id, "lyrics": lyrics}, sort_keys=True)

        async def send(_index: int) -> list[int]:
            handle = await self.suno.aligned_lyrics(clip_id, lyrics=lyrics)
            return [handle.task_id]

        return await self._paid(
            "aligned_lyrics", args, [(ALIGN_PRICE, TaskKind.ALIGNMENT)], send, request_id
        )

    # A `sound` tool (sound effects and loops, POST /music/sound) belongs here once
    # AsyncSuno.sound() exists: a paid tool through _paid like the two above.

    async def _paid(
        self,
        tool: str,
        args: str,
        parts: Sequence[tuple[int, TaskKind]],
        send: Any,
        request_id: str | None,
    ) -> dict[str, Any]:
        """
        Run a paid call's POSTs under the money rules. The lock is held for the whole call,
        so the cap check and the sends it allows are one step no other agent can split.
        """
        rid = request_id if request_id is not None else uuid.uuid4().hex
        if not 1 <= len(rid) <= 200:
            raise failure("request_id must be 1 to 200 characters; call again")
        async with self._money:
            known = self.ledger.parts(rid)
            if known and (known[0].tool, known[0].args) != (tool, args):
                raise failure(
                    f"request_id {rid!r} was used for a different call; pass a new "
                    "request_id for a new call (the same one only to retry that call)"
                )
            todo = [p for p in known if p.state in ("planned", "refused")]
            if not known:
                created = now()
                todo = [
                    Part(rid, index, tool, args, kind.value, points, "planned", created_at=created)
                    for index, (points, kind) in enumerate(parts)
                ]
            cost = sum(p.points for p in todo)
            spent = self.ledger.spent()
            if todo:
                self._check_cap(cost, spent)
                if self.settings.dry_run:
                    return {
                        "dry_run": True,
                        "points": cost,
                        **self._cap(),
                        "note": "--dry-run: nothing was sent; the operator restarts the "
                        "server without --dry-run to spend points",
                    }
                if not known:
                    await self.ledger.plan(todo)
                async with anyio.create_task_group() as group:
                    for part in todo:
                        group.start_soon(self._send_part, part, send)
        return self._call_result(rid, replayed=bool(known) and not todo, before=spent)

    async def _send_part(self, part: Part, send: Any) -> None:
        await self.ledger.mark(part, "sending")
        try:
            ids: list[int] = await send(part.part)
        except SunoError as exc:
            charged = bool(getattr(exc, "may_have_charged", False))
            state: PartState = "unknown" if charged else "refused"
            await self.ledger.mark(part, state, error=str(tool_error(exc)))
            return
        except ValidationError as exc:  # pragma: no cover  (requests are checked before)
            await self.ledger.mark(part, "refused", error=str(exc))
            return
        # Recorded shielded: an agent that hung up meanwhile still has its ids kept.
        await self.ledger.mark(part, "started", task_ids=ids)
        for task_id in ids:
            self._kinds[task_id] = (TaskKind(part.kind), part.created_at)

    def _call_result(self, rid: str, *, replayed: bool, before: int) -> dict[str, Any]:
        parts = self.ledger.parts(rid)
        out: list[dict[str, Any]] = []
        for p in parts:
            entry: dict[str, Any] = {"part": p.part, "task_ids": list(p.task_ids)}
            if p.state == "started":
                entry["state"] = "started"
            elif p.state == "refused":
                entry["state"] = "refused (not charged)"
                entry["error"] = p.error
            else:
                entry["state"] = "possibly charged (no task ids)"
                entry["error"] = (
                    p.error or "the POST may have reached the service without an answer"
                ) + "; it is never sent again: ask the operator to check the account's log"
            out.append(entry)
        ids = [i for p in parts for i in p.task_ids]
        return {
            "request_id": rid,
            "replayed": replayed,
            "points_charged_now": self.ledger.spent() - before,
            "calls": out,
            "task_ids": ids,
            **self._cap(),
            "next": "call wait with task_ids (a song takes 1-3 minutes); retry with the same "
            "request_id if this call failed: it is never paid twice",
        }

    # --- rules ----------------------------------------------------------------------------

    def _cap(self) -> dict[str, Any]:
        cap = self.settings.max_points
        spent = self.ledger.spent()
        return {
            "max_points": cap,
            "points_spent_under_cap": spent,
            "points_left_under_cap": None if cap is None else max(0, cap - spent),
        }

    def _check_cap(self, cost: int, spent: int) -> None:
        cap = self.settings.max_points
        if cap is None:
            raise failure(f"paid tools are off: no points cap was set; {_CAP_HINT}")
        left = max(0, cap - spent)
        if cost > left:
            raise failure(
                f"refused: this call costs {cost} points but only {left} of the "
                f"--max-points {cap} cap are left; plan a smaller call, or {_CAP_HINT}"
            )

    def _handle(self, task_id: int) -> TaskHandle[Any]:
        kind, started = self._kinds.get(task_id, (TaskKind.SONG, None))
        return self.suno.handle(task_id, kind, started_at=started)

    def _read(self, task_id: int, task: Any) -> dict[str, Any]:
        kind, _ = self._kinds.get(task_id, (TaskKind.SONG, 0.0))
        try:
            return result_json(AsyncSuno.result_of(task, kind))
        except SunoError as exc:
            return result_json(exc) | {"task_id": task_id}


def track_statuses(statuses: dict[int, TaskStatus]) -> Callable[[StatusChange], None]:
    """The session's ``on_status_change``: it keeps the last status seen of every task."""

    def track(change: StatusChange) -> None:
        statuses[change.task_id] = change.new

    return track


def _ids(task_ids: Sequence[int]) -> list[int]:
    if not task_ids:
        raise failure("task_ids is empty: pass the ids a generate call returned")
    if len(task_ids) > MAX_IDS:
        raise failure(f"at most {MAX_IDS} ids a call; split them")
    return list(dict.fromkeys(task_ids))
