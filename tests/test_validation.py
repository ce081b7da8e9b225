"""Every input rule raises ValidationError naming the field, before any request is sent."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from helpers import song_requests
from suno_async import (
    DEFAULT_MODEL,
    GENERATION_MODELS,
    AsyncSuno,
    ConfigurationError,
    GenerateRequest,
    PollPolicy,
    RemasterRequest,
    RetryPolicy,
    SunoError,
    Task,
    TaskHandle,
    TaskKind,
    TaskStatus,
    Timeouts,
    UploadRequest,
    ValidationError,
    WaitTimeoutError,
)
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio

UUID = "0f65a62b-3c55-4af6-8353-56be806b93d2"
MEDIA_URL = "https://127.0.0.1:9/song.mp3"
URL = "https://example.com/song.mp3"

# Calls take the session as Any, and classes are called as Any: the cases pass wrong types.
LooseHandle: Any = TaskHandle
LooseTimeouts: Any = Timeouts
LooseRetryPolicy: Any = RetryPolicy
LoosePollPolicy: Any = PollPolicy
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
    ("aligned lyrics of a task id", lambda s: s.aligned_lyrics(199824, lyrics="la"), "suno_id"),
    ("aligned lyrics without lyrics", lambda s: s.aligned_lyrics(UUID, lyrics=" "), "lyrics"),
    # remaster
    ("remaster with a generate model", lambda s: s.remaster(UUID, model="chirp-v4"), "model"),
    ("remaster with a V5 generate model", lambda s: s.remaster(UUID, model="chirp-crow"), "model"),
    ("remaster with a malformed model", lambda s: s.remaster(UUID, model="Chirp-Up"), "model"),
    ("remaster with an offline model", lambda s: s.remaster(UUID, model="chirp-v3-5"), "model"),
    (
        "variation on v4.5",
        lambda s: s.remaster(UUID, model="chirp-bass", variation="subtle"),
        "variation",
    ),
    (
        "variation on v4",
        lambda s: s.remaster(UUID, model="chirp-up", variation="high"),
        "variation",
    ),
    (
        "unknown variation",
        lambda s: s.remaster(UUID, model="chirp-carp", variation="wild"),
        "variation",
    ),
    ("remaster of a task id", lambda s: s.remaster("199824", model="chirp-carp"), "clip_id"),
    # video and wav: a task id and a Suno id, each in its place
    ("video with a Suno id as task id", lambda s: s.video(task_id=UUID, suno_id=UUID), "task_id"),
    ("video with a task id as Suno id", lambda s: s.video(199824, suno_id="199825"), "suno_id"),
    ("video with task id zero", lambda s: s.video(0, suno_id=UUID), "task_id"),
    ("video with a negative task id", lambda s: s.video(-3, suno_id=UUID), "task_id"),
    ("video with a bool task id", lambda s: s.video(True, suno_id=UUID), "task_id"),
    ("wav with a Suno id as task id", lambda s: s.convert_wav(UUID, suno_id=UUID), "task_id"),
    ("wav with a task id as Suno id", lambda s: s.convert_wav(199824, suno_id=199824), "suno_id"),
    # crop
    ("crop of a task id", lambda s: s.crop(clip_id="199824", start_s=0, end_s=5), "clip_id"),
    ("crop start equals end", lambda s: s.crop(UUID, start_s=10, end_s=10), "start_s"),
    ("crop start after end", lambda s: s.crop(UUID, start_s=20, end_s=10), "start_s"),
    ("crop negative start", lambda s: s.crop(UUID, start_s=-1, end_s=10), "start_s"),
    ("crop negative end", lambda s: s.crop(UUID, start_s=0, end_s=-1), "end_s"),
    ("crop NaN end", lambda s: s.crop(UUID, start_s=0, end_s=math.nan), "end_s"),
    ("crop text start", lambda s: s.crop(UUID, start_s="0", end_s=10), "start_s"),
    # speed
    ("speed 3", lambda s: s.speed(UUID, multiplier=3), "multiplier"),
    ("speed 0.3", lambda s: s.speed(UUID, multiplier=0.3), "multiplier"),
    ("speed 0", lambda s: s.speed(UUID, multiplier=0), "multiplier"),
    ("speed as text", lambda s: s.speed(UUID, multiplier="2"), "multiplier"),
    ("speed True", lambda s: s.speed(UUID, multiplier=True), "multiplier"),
    (
        "speed keep_pitch not bool",
        lambda s: s.speed(UUID, multiplier=2, keep_pitch="no"),
        "keep_pitch",
    ),
    ("speed title not text", lambda s: s.speed(UUID, multiplier=2, title=5), "title"),
    ("speed of a task id", lambda s: s.speed("199824", multiplier=2), "clip_id"),
    # task queries and waits
    ("get_task with a Suno id", lambda s: s.get_task(UUID), "task_id"),
    ("get_task with zero", lambda s: s.get_task(0), "task_id"),
    ("get_task with a float", lambda s: s.get_task(1.5), "task_id"),
    ("get_tasks with a Suno id among ids", lambda s: s.get_tasks([199824, UUID]), "task_ids[1]"),
    ("wait on a Suno id", lambda s: s.wait([UUID]), "items[0]"),
    # numbers too large for a float, and digits too many for an int
    (
        "style_weight a huge int",
        lambda s: s.generate(title="t", description="d", style_weight=10**400),
        "style_weight",
    ),
    ("timeout a huge int", lambda s: s.wait([199824], timeout=10**400), "timeout"),
    ("task id of 5,000 digits", lambda s: s.get_task("9" * 5000), "task_id"),
    # downloads and bulk runs
    ("download dest None", lambda s: s.download(MEDIA_URL, None), "dest"),
    ("download dest with a NUL", lambda s: s.download(MEDIA_URL, "a\x00b"), "dest"),
    ("download media a list", lambda s: s.download_bytes(MEDIA_URL, media=["audio"]), "media"),
]

HOSTILE: list[tuple[str, Call, str]] = [
    # generate: wrong types never reach .strip() or the JSON encoder
    ("description not text", gen(description=123), "description"),
    ("description as bytes", gen(description=b"a song"), "description"),
    ("description as a list", gen(description=["a song"]), "description"),
    ("description of 5 MB", gen(description="x" * 5_000_000), "description"),
    ("description one over the cap", gen(description="x" * 5001), "description"),
    ("description with a lone surrogate", gen(description="a \ud800 song"), "description"),
    ("lyrics not text", custom(lyrics=123), "lyrics"),
    ("lyrics as a list", custom(lyrics=["la"]), "lyrics"),
    ("lyrics with a lone surrogate", custom(lyrics="la \udfff"), "lyrics"),
    ("tags not text", custom(tags=123), "tags"),
    ("tags as a list", custom(tags=["pop", "rock"]), "tags"),
    ("negative tags not text", gen(negative_tags=5), "negative_tags"),
    ("title missing", gen(title=None), "title"),
    ("title not text", gen(title=123), "title"),
    ("title with a lone surrogate", gen(title="\udc00"), "title"),
    ("model missing", gen(model=None), "model"),
    ("model not text", gen(model=4), "model"),
    ("model as a list", gen(model=["chirp-v4"]), "model"),
    ("model of 5 MB", gen(model="v" * 5_000_000), "model"),
    ("instrumental as 1", gen(instrumental=1), "instrumental"),
    ("instrumental as None", gen(instrumental=None), "instrumental"),
    ("instrumental as 'false'", gen(instrumental="false"), "instrumental"),
    ("vocal gender as a list", gen(vocal_gender=["m"]), "vocal_gender"),
    ("vocal gender as a number", gen(vocal_gender=1), "vocal_gender"),
    ("vocal gender upper case", gen(vocal_gender="M"), "vocal_gender"),
    ("style weight Decimal", gen(style_weight=Decimal("0.5")), "style_weight"),
    ("style weight infinite", gen(style_weight=math.inf), "style_weight"),
    ("style weight as a list", gen(style_weight=[0.5]), "style_weight"),
    ("weirdness as text", gen(weirdness="1"), "weirdness"),
    ("weirdness NaN", gen(weirdness=math.nan), "weirdness"),
    ("weirdness Fraction", gen(weirdness=Fraction(1, 2)), "weirdness"),
    # extend and cover: the clip is checked first, so None is blamed on clip_id
    ("extend None", lambda s: s.extend(None, continue_at=1, title="t", description="d"), "clip_id"),
    (
        "extend bytes clip",
        lambda s: s.extend(UUID.encode(), continue_at=1, title="t", description="d"),
        "clip_id",
    ),
    (
        "extend a clip id with spaces",
        lambda s: s.extend("a b c", continue_at=1, title="t", description="d"),
        "clip_id",
    ),
    (
        "extend a clip id of 5 MB",
        lambda s: s.extend("u" * 5_000_000, continue_at=1, title="t", description="d"),
        "clip_id",
    ),
    (
        "extend without continue_at",
        lambda s: s.extend(UUID, continue_at=None, title="t", description="d"),
        "continue_at",
    ),
    (
        "continue_at True",
        lambda s: s.extend(UUID, continue_at=True, title="t", description="d"),
        "continue_at",
    ),
    (
        "continue_at as text",
        lambda s: s.extend(UUID, continue_at="30", title="t", description="d"),
        "continue_at",
    ),
    (
        "continue_at NaN",
        lambda s: s.extend(UUID, continue_at=math.nan, title="t", description="d"),
        "continue_at",
    ),
    (
        "continue_at Decimal",
        lambda s: s.extend(UUID, continue_at=Decimal(30), title="t", description="d"),
        "continue_at",
    ),
    ("cover None", lambda s: s.cover(None, title="t", description="d"), "clip_id"),
    ("cover a list", lambda s: s.cover([UUID], title="t", description="d"), "clip_id"),
    (
        "cover with a bad description",
        lambda s: s.cover(UUID, title="t", description=7),
        "description",
    ),
    # submit_generate
    ("submit None", lambda s: s.submit_generate(None), "request"),
    ("submit a dict", lambda s: s.submit_generate({"title": "t"}), "request"),
    ("submit another request", lambda s: s.submit_generate(UploadRequest(URL)), "request"),
    # upload
    ("upload bytes", lambda s: s.upload(URL.encode()), "audio_url"),
    ("upload a number", lambda s: s.upload(123), "audio_url"),
    (
        "upload a URL of 5 MB",
        lambda s: s.upload("https://a.example/" + "a" * 5_000_000),
        "audio_url",
    ),
    ("upload javascript", lambda s: s.upload("javascript:alert(1)"), "audio_url"),
    ("upload one slash", lambda s: s.upload("https:/example.com/a.mp3"), "audio_url"),
    # whole song
    ("whole song None", lambda s: s.whole_song(None), "clip_id"),
    ("whole song int", lambda s: s.whole_song(123), "clip_id"),
    ("whole song bytes", lambda s: s.whole_song(UUID.encode()), "clip_id"),
    ("whole song two lines", lambda s: s.whole_song("abc\ndef"), "clip_id"),
    ("whole song NUL", lambda s: s.whole_song("abc\x00def"), "clip_id"),
    # aligned lyrics
    ("aligned lyrics None", lambda s: s.aligned_lyrics(UUID, lyrics=None), "lyrics"),
    ("aligned lyrics not text", lambda s: s.aligned_lyrics(UUID, lyrics=123), "lyrics"),
    ("aligned lyrics as a list", lambda s: s.aligned_lyrics(UUID, lyrics=["la"]), "lyrics"),
    ("aligned lyrics of 5 MB", lambda s: s.aligned_lyrics(UUID, lyrics="la" * 2_500_000), "lyrics"),
    ("aligned lyrics no song", lambda s: s.aligned_lyrics(None, lyrics="la"), "suno_id"),
    # remaster
    ("remaster model as a list", lambda s: s.remaster(UUID, model=["chirp-carp"]), "model"),
    ("remaster model None", lambda s: s.remaster(UUID, model=None), "model"),
    ("remaster model upper case", lambda s: s.remaster(UUID, model="CHIRP-CARP"), "model"),
    ("remaster model as a dict", lambda s: s.remaster(UUID, model={"chirp-carp": 1}), "model"),
    (
        "remaster variation as a list",
        lambda s: s.remaster(UUID, model="chirp-carp", variation=["subtle"]),
        "variation",
    ),
    (
        "remaster variation as a number",
        lambda s: s.remaster(UUID, model="chirp-carp", variation=1),
        "variation",
    ),
    ("remaster None clip", lambda s: s.remaster(None, model="chirp-carp"), "clip_id"),
    # video and wav
    ("video None task", lambda s: s.video(None, suno_id=UUID), "task_id"),
    ("video float task", lambda s: s.video(199824.0, suno_id=UUID), "task_id"),
    ("video text float task", lambda s: s.video("1.5", suno_id=UUID), "task_id"),
    ("video task id past 64 bits", lambda s: s.video(2**63, suno_id=UUID), "task_id"),
    ("video Decimal task", lambda s: s.video(Decimal(199824), suno_id=UUID), "task_id"),
    ("video Arabic-Indic digits", lambda s: s.video("\u0661\u0662\u0663", suno_id=UUID), "task_id"),
    ("video None Suno id", lambda s: s.video(199824, suno_id=None), "suno_id"),
    ("video bytes Suno id", lambda s: s.video(199824, suno_id=UUID.encode()), "suno_id"),
    ("wav None task", lambda s: s.convert_wav(None, suno_id=UUID), "task_id"),
    ("wav list task", lambda s: s.convert_wav([199824], suno_id=UUID), "task_id"),
    ("wav None Suno id", lambda s: s.convert_wav(199824, suno_id=None), "suno_id"),
    # crop
    ("crop None start", lambda s: s.crop(UUID, start_s=None, end_s=5), "start_s"),
    ("crop None end", lambda s: s.crop(UUID, start_s=0, end_s=None), "end_s"),
    ("crop Decimal start", lambda s: s.crop(UUID, start_s=Decimal(1), end_s=5), "start_s"),
    ("crop infinite end", lambda s: s.crop(UUID, start_s=0, end_s=math.inf), "end_s"),
    ("crop True start", lambda s: s.crop(UUID, start_s=True, end_s=5), "start_s"),
    ("crop text end", lambda s: s.crop(UUID, start_s=0, end_s="5"), "end_s"),
    ("crop None clip", lambda s: s.crop(None, start_s=0, end_s=5), "clip_id"),
    # speed
    ("speed Decimal 1", lambda s: s.speed(UUID, multiplier=Decimal(1)), "multiplier"),
    ("speed Fraction 1/2", lambda s: s.speed(UUID, multiplier=Fraction(1, 2)), "multiplier"),
    ("speed None", lambda s: s.speed(UUID, multiplier=None), "multiplier"),
    ("speed almost 1", lambda s: s.speed(UUID, multiplier=1.0000001), "multiplier"),
    ("speed NaN", lambda s: s.speed(UUID, multiplier=math.nan), "multiplier"),
    ("speed infinite", lambda s: s.speed(UUID, multiplier=math.inf), "multiplier"),
    ("speed negative", lambda s: s.speed(UUID, multiplier=-1), "multiplier"),
    ("speed as a list", lambda s: s.speed(UUID, multiplier=[1]), "multiplier"),
    ("speed keep_pitch None", lambda s: s.speed(UUID, multiplier=2, keep_pitch=None), "keep_pitch"),
    ("speed keep_pitch 1", lambda s: s.speed(UUID, multiplier=2, keep_pitch=1), "keep_pitch"),
    ("speed title too long", lambda s: s.speed(UUID, multiplier=2, title="x" * 101), "title"),
    ("speed title bytes", lambda s: s.speed(UUID, multiplier=2, title=b"t"), "title"),
    # task queries
    ("get_task None", lambda s: s.get_task(None), "task_id"),
    ("get_task word", lambda s: s.get_task("abc"), "task_id"),
    ("get_task True", lambda s: s.get_task(True), "task_id"),
    ("get_task negative", lambda s: s.get_task(-1), "task_id"),
    ("get_task past 64 bits", lambda s: s.get_task(2**64), "task_id"),
    ("get_task list", lambda s: s.get_task([1]), "task_id"),
    ("get_task Decimal", lambda s: s.get_task(Decimal(1)), "task_id"),
    ("get_tasks a digit string", lambda s: s.get_tasks("199824"), "task_ids"),
    ("get_tasks one int", lambda s: s.get_tasks(199824), "task_ids"),
    ("get_tasks None", lambda s: s.get_tasks(None), "task_ids"),
    ("get_tasks bytes", lambda s: s.get_tasks(b"12"), "task_ids"),
    ("get_tasks a dict", lambda s: s.get_tasks({199824: 1}), "task_ids"),
    ("get_tasks None among ids", lambda s: s.get_tasks([1, None]), "task_ids[1]"),
    ("get_tasks a float among ids", lambda s: s.get_tasks([1.5]), "task_ids[0]"),
    # waits
    ("wait None", lambda s: s.wait(None), "items"),
    ("wait one id", lambda s: s.wait(199824), "items"),
    ("wait a digit string", lambda s: s.wait("199824"), "items"),
    ("wait a dict", lambda s: s.wait({199824: 1}), "items"),
    ("wait a number that is not iterable", lambda s: s.wait(1.5), "items"),
    ("wait None among ids", lambda s: s.wait([199824, None]), "items[1]"),
    ("wait a float id", lambda s: s.wait([1.5]), "items[0]"),
    ("wait True", lambda s: s.wait([True]), "items[0]"),
    ("wait id zero", lambda s: s.wait([0]), "items[0]"),
    ("wait timeout NaN", lambda s: s.wait([199824], timeout=math.nan), "timeout"),
    ("wait timeout negative", lambda s: s.wait([199824], timeout=-1), "timeout"),
    ("wait timeout text", lambda s: s.wait([199824], timeout="5"), "timeout"),
    ("wait timeout True", lambda s: s.wait([199824], timeout=True), "timeout"),
    (
        "wait return_exceptions text",
        lambda s: s.wait([199824], return_exceptions="yes"),
        "return_exceptions",
    ),
    ("watch None", lambda s: s.watch(None), "task_id"),
    ("watch a Suno id", lambda s: s.watch(UUID), "task_id"),
    ("watch timeout NaN", lambda s: s.watch(199824, timeout=math.nan), "timeout"),
    (
        "handle.wait timeout NaN",
        lambda s: s.handle(199824, TaskKind.SONG).wait(timeout=math.nan),
        "timeout",
    ),
    (
        "handle without a session",
        lambda s: LooseHandle(199824, TaskKind.SONG).wait(),
        "handle",
    ),
]
CASES += HOSTILE

#: as_completed checks at the call, before any iteration (a generator would check late).
AS_COMPLETED: list[tuple[str, Callable[[Any], object], str]] = [
    ("None", lambda s: s.as_completed(None), "items"),
    ("one id", lambda s: s.as_completed(199824), "items"),
    ("a digit string", lambda s: s.as_completed("199824"), "items"),
    ("a Suno id among ids", lambda s: s.as_completed([199824, UUID]), "items[1]"),
    ("timeout NaN", lambda s: s.as_completed([199824], timeout=math.nan), "timeout"),
    ("timeout negative", lambda s: s.as_completed([199824], timeout=-0.5), "timeout"),
    (
        "return_exceptions None",
        lambda s: s.as_completed([199824], return_exceptions=None),
        "return_exceptions",
    ),
    # handles and results built by hand
    ("handle of None", lambda s: s.handle(None), "task_id"),
    ("handle of a float", lambda s: s.handle(1.5), "task_id"),
    ("handle kind as text", lambda s: s.handle(199824, "song"), "kind"),
    ("handle kind None", lambda s: s.handle(199824, None), "kind"),
    ("TaskHandle of a Suno id", lambda s: LooseHandle(UUID, TaskKind.SONG), "task_id"),
    ("TaskHandle kind as text", lambda s: LooseHandle(1, "song"), "kind"),
    (
        "TaskHandle started_at NaN",
        lambda s: LooseHandle(1, TaskKind.SONG, started_at=math.nan),
        "started_at",
    ),
    (
        "TaskHandle started_at in milliseconds",
        lambda s: s.handle(199824, TaskKind.SONG, started_at=time.time() * 1000),
        "started_at",
    ),
    # numbers too large for a float
    (
        "started_at a huge int",
        lambda s: s.handle(199824, TaskKind.SONG, started_at=10**400),
        "started_at",
    ),
    # bulk runs
    ("bulk dry_run empty text", lambda s: s.generate_many(song_requests(1), dry_run=""), "dry_run"),
    (
        "bulk resend_unknown text",
        lambda s: s.generate_many(song_requests(1), resend_unknown="no"),
        "resend_unknown",
    ),
    ("bulk journal a number", lambda s: s.generate_many(song_requests(1), journal=5), "journal"),
    ("bulk media a number", lambda s: s.generate_many(song_requests(1), media=5), "media"),
    ("result_of a dict", lambda s: s.result_of({"id": 1, "status": 3}, TaskKind.SONG), "task"),
    (
        "result_of kind as text",
        lambda s: s.result_of(Task(id=1, status=TaskStatus.SUCCEEDED), "song"),
        "kind",
    ),
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
        suno.handle(UUID)  # type: ignore[call-overload]
    assert caught.value.field == "task_id"
    assert "looks like a Suno id" in caught.value.rule


async def test_mixed_up_ids_are_explained(suno: AsyncSuno) -> None:
    """A task id in place of a Suno id (and back) gets a message saying which id to pass."""
    with pytest.raises(ValidationError, match="looks like a numeric task id"):
        GenerateRequest(model="chirp-v4", title="t", description="d", cover_clip_id="199824")
    with pytest.raises(ValidationError, match="looks like a Suno id"):
        suno.handle("0f65a62b")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("call", "field"), [c[1:] for c in AS_COMPLETED], ids=[c[0] for c in AS_COMPLETED]
)
async def test_rule_is_checked_at_the_call(
    suno: AsyncSuno, fake: FakeSunoServer, call: Callable[[Any], object], field: str
) -> None:
    """Calls that return without awaiting refuse bad input at once, sending nothing."""
    with pytest.raises(ValidationError) as caught:
        call(suno)
    assert caught.value.field == field
    assert fake.total_requests == 0
    assert suno.watcher.outstanding() == []


async def test_wait_refuses_a_lone_handle(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """wait() wants a list: a single handle is refused with a hint, unsent."""
    handle = suno.handle(199824, TaskKind.SONG)
    with pytest.raises(ValidationError, match=r"suno.wait\(\[handle\]\)"):
        await suno.wait(handle)  # type: ignore[call-overload]
    assert fake.total_requests == 0


# --- length limits by model family ----------------------------------------------------------

V4 = (3000, 200, 80)
V5 = (5000, 1000, 100)
FAMILIES = [
    ("chirp-v4", V4),
    ("chirp-v5", V5),
    ("chirp-v4-5", V5),
    ("chirp-v4.5", V5),
    ("chirp-bluejay", V5),
    ("chirp-hawk", V5),
    ("chirp-hawk-wild", V5),
    ("chirp-goose", V5),
    ("chirp-fenix", V5),
    ("chirp-crow", V5),
    ("chirp-auk", V5),
    ("chirp-kestrel", V5),  # a name this release does not list
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
    handle = await suno.speed(source.id, multiplier=multiplier)
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


# --- session and policy settings ------------------------------------------------------------

Build = Callable[[], object]


def session(**kwargs: Any) -> Build:
    """An AsyncSuno built with a valid key and base URL, overridden by ``kwargs``."""
    options: dict[str, Any] = {"api_key": "k", "base_url": "http://127.0.0.1:9/api/v1"} | kwargs
    return lambda: AsyncSuno(**options)


SETTINGS: list[tuple[str, Build, str]] = [
    ("key as bytes", session(api_key=b"k"), "api_key"),
    ("key as a number", session(api_key=123), "api_key"),
    ("key with a line break", session(api_key="k\nX-Evil: 1"), "api_key"),
    ("key with a tab inside", session(api_key="ab\tcd"), "api_key"),
    ("key not ASCII", session(api_key="ключ"), "api_key"),
    ("base_url as bytes", session(base_url=b"https://open.suno.cn/api/v1"), "base_url"),
    ("base_url a number", session(base_url=443), "base_url"),
    ("session a string", session(session="s"), "session"),
    ("session a dict", session(session={}), "session"),
    ("timeouts a number", session(timeouts=5), "timeouts"),
    ("timeouts a dict", session(timeouts={"read": 5}), "timeouts"),
    ("retry a number", session(retry=3), "retry"),
    ("retry a poll policy", session(retry=PollPolicy()), "retry"),
    ("poll a number", session(poll=1.0), "poll"),
    ("allow_insecure_http text", session(allow_insecure_http="yes"), "allow_insecure_http"),
    ("allow_insecure_http 1", session(allow_insecure_http=1), "allow_insecure_http"),
    ("on_status_change text", session(on_status_change="print"), "on_status_change"),
    # Timeouts
    ("read negative", lambda: LooseTimeouts(read=-1), "Timeouts.read"),
    ("read zero", lambda: LooseTimeouts(read=0), "Timeouts.read"),
    ("read NaN", lambda: LooseTimeouts(read=math.nan), "Timeouts.read"),
    ("read infinite", lambda: LooseTimeouts(read=math.inf), "Timeouts.read"),
    ("read text", lambda: LooseTimeouts(read="5"), "Timeouts.read"),
    ("read True", lambda: LooseTimeouts(read=True), "Timeouts.read"),
    ("connect negative", lambda: LooseTimeouts(connect=-0.1), "Timeouts.connect"),
    ("connect Decimal", lambda: LooseTimeouts(connect=Decimal(5)), "Timeouts.connect"),
    # RetryPolicy
    ("attempts zero", lambda: LooseRetryPolicy(attempts=0), "RetryPolicy.attempts"),
    ("attempts 1.5", lambda: LooseRetryPolicy(attempts=1.5), "RetryPolicy.attempts"),
    ("attempts True", lambda: LooseRetryPolicy(attempts=True), "RetryPolicy.attempts"),
    ("attempts text", lambda: LooseRetryPolicy(attempts="3"), "RetryPolicy.attempts"),
    ("attempts None", lambda: LooseRetryPolicy(attempts=None), "RetryPolicy.attempts"),
    (
        "wait_initial negative",
        lambda: LooseRetryPolicy(wait_initial=-1),
        "RetryPolicy.wait_initial",
    ),
    (
        "wait_initial NaN",
        lambda: LooseRetryPolicy(wait_initial=math.nan),
        "RetryPolicy.wait_initial",
    ),
    ("wait_max infinite", lambda: LooseRetryPolicy(wait_max=math.inf), "RetryPolicy.wait_max"),
    ("wait_jitter negative", lambda: LooseRetryPolicy(wait_jitter=-0.5), "RetryPolicy.wait_jitter"),
    (
        "max_retry_after NaN",
        lambda: LooseRetryPolicy(max_retry_after=math.nan),
        "RetryPolicy.max_retry_after",
    ),
    ("budget zero", lambda: LooseRetryPolicy(budget=0), "RetryPolicy.budget"),
    ("budget negative", lambda: LooseRetryPolicy(budget=-1), "RetryPolicy.budget"),
    ("budget infinite", lambda: LooseRetryPolicy(budget=math.inf), "RetryPolicy.budget"),
    ("budget text", lambda: LooseRetryPolicy(budget="10"), "RetryPolicy.budget"),
    # PollPolicy
    ("interval zero", lambda: LoosePollPolicy(interval=0), "PollPolicy.interval"),
    ("interval negative", lambda: LoosePollPolicy(interval=-1), "PollPolicy.interval"),
    ("interval NaN", lambda: LoosePollPolicy(interval=math.nan), "PollPolicy.interval"),
    ("interval infinite", lambda: LoosePollPolicy(interval=math.inf), "PollPolicy.interval"),
    ("interval text", lambda: LoosePollPolicy(interval="1"), "PollPolicy.interval"),
    ("interval True", lambda: LoosePollPolicy(interval=True), "PollPolicy.interval"),
    ("batch_size 1.5", lambda: LoosePollPolicy(batch_size=1.5), "PollPolicy.batch_size"),
    ("batch_size zero", lambda: LoosePollPolicy(batch_size=0), "PollPolicy.batch_size"),
    ("batch_size 1001", lambda: LoosePollPolicy(batch_size=1001), "PollPolicy.batch_size"),
    ("batch_size True", lambda: LoosePollPolicy(batch_size=True), "PollPolicy.batch_size"),
    ("batch_size text", lambda: LoosePollPolicy(batch_size="10"), "PollPolicy.batch_size"),
    ("batch_size None", lambda: LoosePollPolicy(batch_size=None), "PollPolicy.batch_size"),
    ("concurrency zero", lambda: LoosePollPolicy(concurrency=0), "PollPolicy.concurrency"),
    ("concurrency 2.0", lambda: LoosePollPolicy(concurrency=2.0), "PollPolicy.concurrency"),
    ("miss_limit zero", lambda: LoosePollPolicy(miss_limit=0), "PollPolicy.miss_limit"),
    ("miss_limit True", lambda: LoosePollPolicy(miss_limit=True), "PollPolicy.miss_limit"),
    ("max_backoff zero", lambda: LoosePollPolicy(max_backoff=0), "PollPolicy.max_backoff"),
    ("max_backoff NaN", lambda: LoosePollPolicy(max_backoff=math.nan), "PollPolicy.max_backoff"),
    ("first_poll None", lambda: LoosePollPolicy(first_poll=None), "PollPolicy.first_poll"),
    ("first_poll a number", lambda: LoosePollPolicy(first_poll=5), "PollPolicy.first_poll"),
    (
        "first_poll keyed by text",
        lambda: LoosePollPolicy(first_poll={"song": 1.0}),
        "PollPolicy.first_poll",
    ),
    (
        "first_poll negative",
        lambda: LoosePollPolicy(first_poll={TaskKind.SONG: -1}),
        "PollPolicy.first_poll[TaskKind.SONG]",
    ),
    (
        "first_poll NaN",
        lambda: LoosePollPolicy(first_poll={TaskKind.VIDEO: math.nan}),
        "PollPolicy.first_poll[TaskKind.VIDEO]",
    ),
    (
        "first_poll text",
        lambda: LoosePollPolicy(first_poll={TaskKind.WAV: "1"}),
        "PollPolicy.first_poll[TaskKind.WAV]",
    ),
]


@pytest.mark.parametrize(
    ("build", "field"), [c[1:] for c in SETTINGS], ids=[c[0] for c in SETTINGS]
)
def test_setting_is_checked_when_built(build: Build, field: str) -> None:
    """A bad session or policy setting raises ConfigurationError naming it, at construction."""
    with pytest.raises(ConfigurationError) as caught:
        build()
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, SunoError)


def test_key_from_the_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key pasted into SUNO_API_KEY with a line break is refused, naming the variable."""
    monkeypatch.setenv("SUNO_API_KEY", "abc\ndef")
    with pytest.raises(ConfigurationError, match=r"^SUNO_API_KEY: .*line breaks"):
        AsyncSuno(base_url="http://127.0.0.1:9/api/v1")


async def test_a_closed_session_is_refused() -> None:
    """An aiohttp session closed already is refused when the client is built."""
    import aiohttp

    http = aiohttp.ClientSession()
    await http.close()
    with pytest.raises(ConfigurationError, match=r"^session: is closed"):
        AsyncSuno("k", base_url="http://127.0.0.1:9/api/v1", session=http)


def test_settings_at_their_edges_are_accepted() -> None:
    """No timeout, no budget, zero waits, 1,000 ids and a first poll of 0 are all valid."""
    assert Timeouts(connect=None, read=None).to_aiohttp().sock_read is None
    assert RetryPolicy(attempts=1, wait_initial=0, wait_max=0, budget=None).budget is None
    policy = PollPolicy(interval=0.001, batch_size=1000, first_poll={TaskKind.SONG: 0})
    assert policy.first_poll[TaskKind.SONG] == 0.0


def test_partial_first_poll_keeps_the_other_defaults() -> None:
    """A first_poll naming one kind keeps the defaults of the kinds it leaves out."""
    defaults = PollPolicy().first_poll
    policy = PollPolicy(first_poll={TaskKind.VIDEO: 1.5})
    assert policy.first_poll == {**defaults, TaskKind.VIDEO: 1.5}
    assert policy.first_poll[TaskKind.SONG] == defaults[TaskKind.SONG] > 0


# --- timeouts that mean the same to wait and as_completed -----------------------------------


async def test_zero_timeout_checks_once(suno: AsyncSuno) -> None:
    """timeout=0 gives up at once in both wait() and as_completed(), naming the ids."""
    (handle, _) = await suno.generate(title="t", description="d")
    with pytest.raises(WaitTimeoutError) as waited:
        await suno.wait([handle], timeout=0)
    assert list(waited.value.pending) == [handle.task_id]
    with pytest.raises(WaitTimeoutError) as iterated:
        async for _ in suno.as_completed([handle], timeout=0):
            pass
    assert list(iterated.value.pending) == [handle.task_id]


async def test_infinite_timeout_means_no_limit(suno: AsyncSuno) -> None:
    """timeout=math.inf waits like None, in both wait() and as_completed()."""
    handles = await suno.generate(title="t", description="d")
    songs = await suno.wait(handles, timeout=math.inf)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    seen = [song.task_id async for song in suno.as_completed(handles, timeout=math.inf)]
    assert sorted(seen) == sorted(h.task_id for h in handles)


# --- model names ----------------------------------------------------------------------------


def test_default_model_is_the_services_default() -> None:
    """The default model is chirp-hawk, a listed V6 generation model."""
    assert DEFAULT_MODEL == "chirp-hawk"
    assert GENERATION_MODELS[DEFAULT_MODEL] == "v6"


@pytest.mark.parametrize("model", [*GENERATION_MODELS, "chirp-kestrel", "chirp-v6.5-beta"])
def test_any_well_formed_generation_model_is_accepted(model: str) -> None:
    """Listed names and well-formed newer ones are accepted for generation."""
    assert GenerateRequest(model=model, title="t", description="d").model == model


@pytest.mark.parametrize(
    "model", ["hawk", "chirp-", "Chirp-Hawk", "chirp hawk", "chirp-hawk!", "chirp-_x"]
)
def test_malformed_model_is_refused(model: str) -> None:
    """A name that is not 'chirp-' and lowercase letters, digits, dots or hyphens is refused."""
    with pytest.raises(ValidationError, match="model"):
        GenerateRequest(model=model, title="t", description="d")


@pytest.mark.parametrize("model", ["chirp-v3-5", "chirp-v3-0"])
def test_offline_model_is_refused_saying_so(model: str) -> None:
    """The V3 models are offline at the service, and the error says so."""
    with pytest.raises(ValidationError, match="offline"):
        GenerateRequest(model=model, title="t", description="d")


@pytest.mark.parametrize("model", ["chirp-halibut", "chirp-flounder", "chirp-carp", "chirp-trout"])
def test_variation_on_v5_and_newer_remaster_models(model: str) -> None:
    """variation is accepted for V5 and newer remaster models, listed or not."""
    request = RemasterRequest(clip_id=UUID, model=model, variation="high")
    assert request.variation == "high"
