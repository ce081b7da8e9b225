"""The README's python examples, run as written against the fake server."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

import suno_async
from helpers import AUDIO_EXT, serving, unsigned
from suno_async import AsyncSuno, Song, TaskKind
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS: list[str] = re.findall(
    r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL
)


def _title(block: str) -> str:
    first = next(line for line in block.splitlines() if line.strip())
    return re.sub(r"\W+", "-", first.strip())[:40]


@pytest.fixture
async def namespace(
    fake: FakeSunoServer,
    suno: AsyncSuno,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> dict[str, Any]:
    """
    What a README block may use unimported (a session, a finished song, prompts, the public
    names), with the key and base URL in the environment and sessions polling on the fake's
    clock, in a scratch directory.
    """
    monkeypatch.setenv("SUNO_API_KEY", fake.api_key)
    monkeypatch.setenv("SUNO_BASE_URL", fake.url)
    kwdefaults = AsyncSuno.__init__.__kwdefaults__
    assert kwdefaults is not None
    monkeypatch.setitem(kwdefaults, "poll", fake.poll_policy())
    monkeypatch.chdir(tmp_path)
    song = (await suno.wait(await suno.generate(title="Summer Wind", description="d")))[0]
    names = {name: getattr(suno_async, name) for name in suno_async.__all__}
    extras = {"suno": suno, "song": song, "prompts": ["a cheerful pop song", "a ballad"]}
    return names | extras | {"__name__": "readme"}


async def run_block(block: str, namespace: dict[str, Any]) -> None:
    """Run a block as a script would, top-level awaits allowed; asyncio.run(main()) awaited."""
    source = block.replace("asyncio.run(main())", "await main()")
    code = compile(source, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307 (the README's own examples, run on purpose)
    if inspect.iscoroutine(result):
        await result


def test_the_readme_has_its_examples() -> None:
    """The examples this module runs are there: the three uses among them."""
    assert len(BLOCKS) >= 6
    joined = "\n".join(BLOCKS)
    for needle in ("cleanup_ctx", "handle.status_changes()", "generate_many("):
        assert needle in joined


@pytest.mark.parametrize("block", BLOCKS, ids=[_title(b) for b in BLOCKS])
async def test_every_example_runs(block: str, namespace: dict[str, Any]) -> None:
    """Each python block of the README runs to its end against the fake server."""
    with anyio.fail_after(30):
        await run_block(block, namespace)


def _block_with(needle: str) -> str:
    return next(block for block in BLOCKS if needle in block)


async def test_the_web_app_example_long_polls_a_song(
    namespace: dict[str, Any], suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """The web app answers a finished song by id, and 404 for an id the service lacks."""
    await run_block(_block_with("cleanup_ctx"), namespace)
    app: web.Application = namespace["app"]
    async with serving(app) as origin:
        (handle, _) = await suno.generate(title="Web", description="a song for the web")
        async with aiohttp.ClientSession() as http:
            with anyio.fail_after(10):
                async with http.get(f"{origin}/songs/{handle.task_id}") as answer:
                    assert answer.status == 200
                    body = await answer.json()
                async with http.get(f"{origin}/songs/1") as missing:
                    assert missing.status == 404
    assert body["title"]
    assert unsigned(body["audio_url"]).endswith(f".{AUDIO_EXT[fake.dialect]}")


async def test_the_bot_example_follows_one_task(namespace: dict[str, Any], suno: AsyncSuno) -> None:
    """The bot hears its own task's statuses, in order, then gets the song's audio URL."""
    await run_block(_block_with("handle.status_changes()"), namespace)
    first, second = await suno.generate(title="Bot", description="a song for a chat")
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    with anyio.fail_after(10):
        await namespace["follow"](suno, first.task_id, send)
    song: Song = await suno.handle(first.task_id, TaskKind.SONG).wait()
    assert sent[-1] == song.audio_url
    statuses = sent[:-1]
    assert statuses[-1] == f"song {first.task_id}: succeeded"
    assert all(line.startswith(f"song {first.task_id}: ") for line in statuses)
    assert str(second.task_id) not in "".join(statuses)
