"""Every input rule raises ValidationError naming the field, before any request is sent."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from suno_async import AsyncSuno, GenerateRequest, SunoError, ValidationError
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio

UUID = "0f65a62b-3c55-4af6-8353-56be806b93d2"
URL = "https://example.com/song.mp3"

# Calls take the session as Any: several cases pass deliberately wrong types.
Call = Callable[[Any], Awaitable[object]]


def gen(**kwargs: Any) -> Call:
    """A generate() call with a valid inspiration-mode request, overridden by ``kwargs``."""
    options: dict[str, Any] = {"title": "t", "description": "a cheerful pop song"} | kwargs
    return lambda s: s.generate(**options)


def custom(**kwargs: Any) -> Call:
    """A generate() call in custom mode, overridden by ``kwargs``."""
    return gen(**({"description": None, "lyrics": "[Verse] la la", "tags": "pop"} | kwargs))


CASES: list[tuple[str, Call, str]] = [
    # one and only one of description and lyrics
    ("neither description nor lyrics", gen(description=None), "description/lyrics"),
    ("both description and lyrics", gen(lyrics="la", tags="pop"), "description/lyrics"),
    (
        "instrumental still needs one",
        gen(description=None, instrumental=True),
        "description/lyrics",
    ),
    ("blank description", gen(description="   "), "description"),
    ("blank lyrics with vocals", custom(lyrics="  "), "lyrics"),
    # required fields
    ("no title", gen(title=""), "title"),
    ("blank title", gen(title="   "), "title"),
    ("tags required with lyrics", custom(tags=None), "tags"),
    ("empty tags with lyrics", custom(tags=""), "tags"),
    ("empty model", gen(model=""), "model"),
    ("blank model", gen(model="  "), "model"),
    ("instrumental is a bool", gen(instrumental="yes"), "instrumental"),
    # metadata
    ("vocal gender", gen(vocal_gender="x"), "vocal_gender"),
    ("vocal gender spelt out", gen(vocal_gender="female"), "vocal_gender"),
    ("style weight above 1", gen(style_weight=1.01), "style_weight"),
    ("style weight below 0", gen(style_weight=-0.01), "style_weight"),
    ("style weight NaN", gen(style_weight=math.nan), "style_weight"),
    ("style weight bool", gen(style_weight=True), "style_weight"),
    ("style weight string", gen(style_weight="0.5"), "style_weight"),
    ("weirdness above 1", gen(weirdness=1.5), "weirdness"),
    ("weirdness below 0", gen(weirdness=-1), "weirdness"),
    (
        "audio weight on a new song",
        lambda s: s.submit_generate(
            GenerateRequest(model="chirp-v4", title="t", description="d", audio_weight=0.5)
        ),
        "audio_weight",
    ),
    (
        "audio weight above 1 on extend",
        lambda s: s.extend(UUID, continue_at=1, title="t", description="d", audio_weight=1.2),
        "audio_weight",
    ),
    (
        "audio weight below 0 on cover",
        lambda s: s.cover(UUID, title="t", description="d", audio_weight=-0.1),
        "audio_weight",
    ),
    # extend and cover
    (
        "negative continue_at",
        lambda s: s.extend(UUID, continue_at=-0.5, title="t", description="d"),
        "continue_at",
    ),
    (
        "infinite continue_at",
        lambda s: s.extend(UUID, continue_at=math.inf, title="t", description="d"),
        "continue_at",
    ),
    (
        "task id given as the clip to extend",
        lambda s: s.extend("199824", continue_at=1, title="t", description="d"),
        "clip_id",
    ),
    (
        "int task id given as the clip to cover",
        lambda s: s.cover(199824, title="t", description="d"),
        "clip_id",
    ),
    ("blank clip to cover", lambda s: s.cover(" ", title="t", description="d"), "clip_id"),
    (
        "extend still needs a title",
        lambda s: s.extend(UUID, continue_at=1, title="", description="d"),
        "title",
    ),
    # upload
    ("upload ftp URL", lambda s: s.upload("ftp://example.com/a.mp3"), "audio_url"),
    ("upload path", lambda s: s.upload("/home/me/a.mp3"), "audio_url"),
    ("upload scheme only", lambda s: s.upload("https://"), "audio_url"),
    ("upload empty", lambda s: s.upload(""), "audio_url"),
    ("upload not a string", lambda s: s.upload(None), "audio_url"),
    # whole song, aligned lyrics
    ("whole song of a task id", lambda s: s.whole_song("199824"), "clip_id"),
    ("aligned lyrics of a task id", lambda s: s.aligned_lyrics(199824, "la"), "suno_id"),
    ("aligned lyrics without lyrics", lambda s: s.aligned_lyrics(UUID, " "), "lyrics"),
    # remaster
    ("remaster with a generate model", lambda s: s.remaster(UUID, "chirp-v4"), "model"),
    ("remaster with an unknown model", lambda s: s.remaster(UUID, "chirp-crow"), "model"),
    ("variation on v4.5", lambda s: s.remaster(UUID, "chirp-bass", "subtle"), "variation"),
    ("variation on v4", lambda s: s.remaster(UUID, "chirp-up", "high"), "variation"),
    ("unknown variation", lambda s: s.remaster(UUID, "chirp-carp", "wild"), "variation"),
    ("remaster of a task id", lambda s: s.remaster("199824", "chirp-carp"), "clip_id"),
    # video and wav: a task id and a Suno id, each in its place
    ("video with a Suno id as task id", lambda s: s.video(task_id=UUID, suno_id=UUID), "task_id"),
    ("video with a task id as Suno id", lambda s: s.video(199824, "199825"), "suno_id"),
    ("video with task id zero", lambda s: s.video(0, UUID), "task_id"),
    ("video with a negative task id", lambda s: s.video(-3, UUID), "task_id"),
    ("video with a bool task id", lambda s: s.video(True, UUID), "task_id"),
    ("wav with a Suno id as task id", lambda s: s.convert_wav(UUID, UUID), "task_id"),
    ("wav with a task id as Suno id", lambda s: s.convert_wav(199824, 199824), "suno_id"),
    # crop
    ("crop of a task id", lambda s: s.crop(clip_id="199824", start_s=0, end_s=5), "clip_id"),
    ("crop start equals end", lambda s: s.crop(UUID, 10, 10), "start_s"),
    ("crop start after end", lambda s: s.crop(UUID, 20, 10), "start_s"),
    ("crop negative start", lambda s: s.crop(UUID, -1, 10), "start_s"),
    ("crop negative end", lambda s: s.crop(UUID, 0, -1), "end_s"),
    ("crop NaN end", lambda s: s.crop(UUID, 0, math.nan), "end_s"),
    ("crop text start", lambda s: s.crop(UUID, "0", 10), "start_s"),
    # speed
    ("speed 3", lambda s: s.speed(UUID, 3), "multiplier"),
    ("speed 0.3", lambda s: s.speed(UUID, 0.3), "multiplier"),
    ("speed 0", lambda s: s.speed(UUID, 0), "multiplier"),
    ("speed as text", lambda s: s.speed(UUID, "2"), "multiplier"),
    ("speed True", lambda s: s.speed(UUID, True), "multiplier"),
    ("speed keep_pitch not bool", lambda s: s.speed(UUID, 2, keep_pitch="no"), "keep_pitch"),
    ("speed title not text", lambda s: s.speed(UUID, 2, title=5), "title"),
    ("speed of a task id", lambda s: s.speed("199824", 2), "clip_id"),
    # task queries and waits
    ("get_task with a Suno id", lambda s: s.get_task(UUID), "task_id"),
    ("get_task with zero", lambda s: s.get_task(0), "task_id"),
    ("get_task with a float", lambda s: s.get_task(1.5), "task_id"),
    ("get_tasks with a Suno id among ids", lambda s: s.get_tasks([199824, UUID]), "task_ids"),
    ("wait on a Suno id", lambda s: s.wait([UUID]), "task_id"),
]


@pytest.mark.parametrize(("call", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_rule_is_checked_before_sending(
    suno: AsyncSuno, fake: FakeSunoServer, call: Call, field: str
) -> None:
    """The call raises ValidationError for the field, and the server sees no request."""
    before = fake.points
    with pytest.raises(ValidationError) as caught:
        await call(suno)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, SunoError)
    assert fake.total_requests == 0
    assert fake.points == before


async def test_handle_from_a_suno_id_is_refused(suno: AsyncSuno) -> None:
    """Rebuilding a handle from a Suno id instead of a task id is refused."""
    with pytest.raises(ValidationError) as caught:
        suno.handle(UUID)  # type: ignore[arg-type]
    assert caught.value.field == "task_id"
    assert "looks like a Suno id" in caught.value.rule


async def test_mixed_up_ids_are_explained(suno: AsyncSuno) -> None:
    """A task id in place of a Suno id (and back) gets a message saying which id to pass."""
    with pytest.raises(ValidationError, match="looks like a numeric task id"):
        GenerateRequest(model="chirp-v4", title="t", description="d", cover_clip_id="199824")
    with pytest.raises(ValidationError, match="looks like a Suno id"):
        suno.handle("0f65a62b")  # type: ignore[arg-type]


async def test_wait_refuses_a_lone_handle(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """wait() wants a list: a single handle or id is refused with a hint, unsent."""
    with pytest.raises(TypeError, match=r"suno.wait\(\[handle\]\)"):
        await suno.wait(199824)  # type: ignore[call-overload]
    assert fake.total_requests == 0


async def test_as_completed_checks_its_items_when_called(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """as_completed() refuses a lone id or a bad one at the call, before any iteration."""
    with pytest.raises(TypeError, match=r"suno.wait\(\[handle\]\)"):
        suno.as_completed(199824)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="looks like a Suno id"):
        suno.as_completed([199824, UUID])  # type: ignore[list-item]
    assert fake.total_requests == 0
    assert suno.watcher.outstanding() == []


# --- length limits by model family ----------------------------------------------------------

V4 = (3000, 200, 80)
V5 = (5000, 1000, 100)
FAMILIES = [
    ("chirp-v4", V4),
    ("chirp-v3-5", V4),
    ("chirp-v3-0", V4),
    ("chirp-v5", V5),
    ("chirp-v4-5", V5),
    ("chirp-v4.5", V5),
    ("chirp-bluejay", V5),  # a name the reference does not list
]


def custom_request(model: str, **sizes: int) -> dict[str, Any]:
    """Arguments of a custom-mode generate() whose fields have the given lengths."""
    options: dict[str, Any] = {"model": model, "title": "t", "lyrics": "la", "tags": "pop"}
    for name, size in sizes.items():
        options[name] = "歌" * size
    return options


@pytest.mark.parametrize(("model", "limits"), FAMILIES)
@pytest.mark.parametrize("field", ["lyrics", "tags", "negative_tags", "title"])
async def test_length_limits_are_exact(
    suno: AsyncSuno,
    fake: FakeSunoServer,
    model: str,
    limits: tuple[int, int, int],
    field: str,
) -> None:
    """Each text is allowed at its model family's limit and refused one character over."""
    lyrics_max, tags_max, title_max = limits
    limit = {"lyrics": lyrics_max, "tags": tags_max, "negative_tags": tags_max}.get(
        field, title_max
    )
    at_limit = custom_request(model, **{field: limit})
    GenerateRequest(**at_limit)  # accepted
    with pytest.raises(ValidationError, match=f"at most {limit} characters") as caught:
        await suno.generate(**custom_request(model, **{field: limit + 1}))
    assert caught.value.field == field
    assert fake.total_requests == 0


@pytest.mark.parametrize(("model", "limits"), [("chirp-v4", V4), ("chirp-v5", V5)])
async def test_requests_at_the_limits_are_accepted_by_the_service(
    suno: AsyncSuno, fake: FakeSunoServer, model: str, limits: tuple[int, int, int]
) -> None:
    """Lyrics, tags and title all at their limit go through and start two songs."""
    lyrics_max, tags_max, title_max = limits
    options = custom_request(model, lyrics=lyrics_max, tags=tags_max, title=title_max)
    handles = await suno.generate(**options)
    assert len(handles) == 2
    assert fake.requests == {"POST /music/generate": 1}
    assert len(fake.task(handles[0].task_id).params["prompt"]) == lyrics_max


# --- the edges that are allowed -------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2])
async def test_every_documented_speed_is_accepted(
    suno: AsyncSuno, fake: FakeSunoServer, multiplier: float
) -> None:
    """Each documented speed multiplier is sent and accepted by the service."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    source = (await suno.wait(await suno.generate(title="t", description="d")))[0]
    assert source.id is not None
    handle = await suno.speed(source.id, multiplier)
    assert fake.task(handle.task_id).params["speed_multiplier"] == multiplier


@pytest.mark.parametrize(
    "options",
    [
        {"style_weight": 0, "weirdness": 1},
        {"style_weight": 1.0, "weirdness": 0.0},
        {"vocal_gender": "m"},
        {"vocal_gender": "f"},
    ],
)
def test_slider_bounds_and_genders_are_allowed(options: dict[str, Any]) -> None:
    """Slider weights of exactly 0 and 1, and both vocal genders, are valid."""
    request = GenerateRequest(model="chirp-v4", title="t", description="d", **options)
    assert request.task is None


@pytest.mark.parametrize(("start", "end"), [(0, 0.1), (0.0, 5.0), (10, 10.5), (3, 1e6)])
def test_crop_spans_allowed(start: float, end: float) -> None:
    """Crops that start at or after 0 and end later are valid."""
    from suno_async import CropRequest

    assert CropRequest(UUID, start, end).end_s == end


def test_extend_from_the_start_is_allowed() -> None:
    """continue_at 0 and an audio weight of 0..1 are valid for extend and cover."""
    extend = GenerateRequest(
        model="chirp-v4",
        title="t",
        description="d",
        continue_clip_id=UUID,
        continue_at=0,
        audio_weight=1,
    )
    cover = GenerateRequest(
        model="chirp-v4", title="t", description="d", cover_clip_id=UUID, audio_weight=0
    )
    assert (extend.task, cover.task) == ("extend", "cover")


def test_instrumental_custom_mode_allows_empty_lyrics() -> None:
    """An instrumental may pass empty lyrics with its style tags."""
    request = GenerateRequest(
        model="chirp-v4", title="t", lyrics="", tags="lofi", instrumental=True
    )
    assert request.instrumental
