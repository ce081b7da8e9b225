"""Plain-aiohttp helpers for the fake server's own tests, which must not lean on the SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from suno_async.testing import FakeSunoServer, TaskPlan

KEY = "fake-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ROOT = Path(__file__).resolve().parents[1]
CUSTOM = {"prompt": "[Verse]\n最近的风", "tags": "pop", "title": "夏夜", "mv": "chirp-v4"}


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """One request; the status and the decoded JSON body."""
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def post(
    session: aiohttp.ClientSession, server: FakeSunoServer, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A POST to the API that must succeed."""
    status, payload = await call(session, "POST", server.url + path, json=body)
    assert status == 200, payload
    return payload


async def row(session: aiohttp.ClientSession, server: FakeSunoServer, task_id: int) -> Any:
    """The single task query's ``data`` for one id."""
    status, payload = await call(session, "GET", f"{server.url}/music/task", params={"id": task_id})
    assert status == 200, payload
    return payload["data"]


async def done_song(session: aiohttp.ClientSession, server: FakeSunoServer) -> tuple[int, str]:
    """Generate a pair that completes at once and return the first task id and its clip."""
    server.plans.extend([TaskPlan(), TaskPlan()])
    ids = (await post(session, server, "/music/generate", CUSTOM))["data"]
    return ids[0], str((await row(session, server, ids[0]))["custom_id"])
