"""
The tools as an agent sees them: names, argument schemas and descriptions written for a model
to act on (what it does, what it costs, what to call next). The work is in ``_service``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from .._bulk import GENERATE_PRICE
from .._errors import SunoError
from .._models import DEFAULT_MODEL, GenerateRequest
from ._results import tool_error
from ._service import ALIGN_PRICE, MAX_IDS, MAX_SONGS, MAX_WAIT_S, Service

__all__ = ["INSTRUCTIONS", "add_tools"]

INSTRUCTIONS = f"""\
Suno music generation. Plan with `estimate` (free), start songs with `generate` (paid:
{GENERATE_PRICE} points a request, two songs each), then call `wait` with the task ids until
none is pending, then `download`. `status` is a free snapshot. Pass a `request_id` of your
own to every paid call and reuse it when you retry: the same id is never paid twice. The
operator caps what this server may spend; a refused call says what is left."""

_GENERATE = (
    f"Start songs (paid: {GENERATE_PRICE} points a request, two songs each). Give each "
    "request a title and either a description or your own lyrics (with tags for the "
    "style); extend_clip_id + continue_at extends a clip, cover_clip_id covers one. "
    "Returns task ids at once (songs take 1-3 minutes): then call wait with them. A "
    "request reported as possibly charged is never resent; refused ones cost nothing."
)
_ALIGN = (
    f"Word timestamps for a finished song's lyrics (paid: {ALIGN_PRICE} point). Returns "
    "a task id: call wait with it for the words and their start and end seconds."
)


class SongRequest(TypedDict):
    """One generate request: one paid call, two songs."""

    title: Annotated[str, Field(description="The song's title.")]
    description: NotRequired[
        Annotated[str, Field(description="What the song is about; the service writes the lyrics.")]
    ]
    lyrics: NotRequired[
        Annotated[str, Field(description="Your own lyrics instead of a description.")]
    ]
    tags: NotRequired[Annotated[str, Field(description="Style, e.g. 'lo-fi, piano'.")]]
    model: NotRequired[Annotated[str, Field(description=f"chirp-* model ({DEFAULT_MODEL}).")]]
    instrumental: NotRequired[bool]
    extend_clip_id: NotRequired[
        Annotated[str, Field(description="Extend this clip (a clip_id from a result)...")]
    ]
    continue_at: NotRequired[
        Annotated[float, Field(description="...from this second of it (with extend_clip_id).")]
    ]
    cover_clip_id: NotRequired[
        Annotated[str, Field(description="Cover this clip in the new style and lyrics.")]
    ]


RequestId = Annotated[
    str | None,
    Field(
        description="Your id for this call (any text). Retrying with the same id returns the "
        "first call's task ids and is never paid again, even after a restart."
    ),
]
TaskIds = Annotated[
    list[int], Field(description=f"Task ids from generate (up to {MAX_IDS}).", min_length=1)
]


def _request(song: SongRequest) -> GenerateRequest:
    return GenerateRequest(
        model=song.get("model", DEFAULT_MODEL),
        title=song["title"],
        description=song.get("description"),
        lyrics=song.get("lyrics"),
        tags=song.get("tags"),
        instrumental=song.get("instrumental", False),
        continue_clip_id=song.get("extend_clip_id"),
        continue_at=song.get("continue_at"),
        cover_clip_id=song.get("cover_clip_id"),
    )


def add_tools(server: MCPServer[Any], service: Service) -> None:
    """Register every tool on ``server``, each a thin call into ``service``."""
    free = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    paid = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)

    @server.tool(annotations=free)
    async def balance() -> dict[str, Any]:
        """Points left on the account (free; 100 points = 1 CNY) and under this server's cap."""
        return await service.balance()

    @server.tool(annotations=free)
    async def estimate(
        songs: Annotated[int, Field(description="How many songs you plan.", ge=0)] = 0,
        aligned_lyrics: Annotated[int, Field(description="Aligned-lyrics calls.", ge=0)] = 0,
    ) -> dict[str, Any]:
        """
        The cost of a plan before spending anything (free): points, whether it fits under
        the server's cap, and what is left. Songs come two per paid generate request.
        """
        return await service.estimate(songs, aligned_lyrics)

    @server.tool(annotations=paid, description=_GENERATE)
    async def generate(
        songs: Annotated[
            list[SongRequest],
            Field(
                description=f"1 to {MAX_SONGS} requests; each makes two songs.",
                min_length=1,
                max_length=MAX_SONGS,
            ),
        ],
        request_id: RequestId = None,
    ) -> dict[str, Any]:
        try:
            requests = [_request(song) for song in songs]
        except SunoError as exc:
            raise tool_error(exc) from None
        return await service.generate(requests, request_id)

    @server.tool(annotations=free)
    async def status(task_ids: TaskIds) -> dict[str, Any]:
        """
        The status of many tasks now, in one batch query (free): queued, generating, or the
        finished result (title, duration, audio URL and its expiry, or the failure reason).
        """
        return await service.status(task_ids)

    @server.tool(annotations=free)
    async def wait(
        task_ids: TaskIds,
        timeout_s: Annotated[
            float,
            Field(description=f"Return by then (0 to {MAX_WAIT_S:g} s).", ge=0, le=MAX_WAIT_S),
        ] = 30.0,
    ) -> dict[str, Any]:
        """
        Wait for tasks (free), returning within timeout_s: the finished results (title,
        duration, audio URL and its expiry, or a failed song's reason) and the status of
        the pending ones. Call again with the pending ids until none is left.
        """
        return await service.wait(task_ids, timeout_s)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def download(
        task_ids: TaskIds,
        media: Annotated[
            Literal["audio", "cover", "video"], Field(description="What to save.")
        ] = "audio",
    ) -> dict[str, Any]:
        """
        Save finished songs' files into the folder the operator allowed (free); returns
        each file's path. Songs land as .m4a audio; links expire about an hour after a song
        finishes, and a dead link is renewed once by itself.
        """
        return await service.download(task_ids, media)

    @server.tool(annotations=paid, description=_ALIGN)
    async def aligned_lyrics(
        clip_id: Annotated[str, Field(description="A finished song's clip_id.")],
        lyrics: Annotated[str, Field(description="The song's lyrics.")],
        request_id: RequestId = None,
    ) -> dict[str, Any]:
        return await service.aligned_lyrics(clip_id, lyrics, request_id)

    # --- sound effects ------------------------------------------------------------------
    # The `sound` tool (POST /music/sound: effects and loops, paid) goes here once
    # AsyncSuno.sound() lands: a paid tool with a request_id, through Service._paid.
