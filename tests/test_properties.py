"""
Property tests: any JSON where an answer is expected gives a typed result or a SunoError.

The decoders are driven with arbitrary JSON values (biased towards the keys the API uses,
numbers as strings, and JSON text where ``extend`` expects it). Each either returns a
well-typed result or raises ``WireFormatError``, the one error its callers map to an
``UndecodableResponseError``; at the public boundary the result is typed or a ``SunoError``.
A few of the same properties run over real HTTP, through the fake server and through a tiny
server of this module that answers whatever a test scripts.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal

import anyio
import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import FAST_POLL, serving
from suno_async import (
    AlignedWord,
    APIError,
    AsyncSuno,
    Balance,
    ConfigurationError,
    FileInfo,
    LyricsAlignment,
    PollPolicy,
    RetryPolicy,
    Song,
    SunoError,
    Task,
    TaskHandle,
    TaskKind,
    TaskStatus,
    Timeouts,
    UndecodableResponseError,
    ValidationError,
    Video,
    Wav,
)
from suno_async._convert import (
    Envelope,
    Page,
    WireFormatError,
    parse_batch,
    parse_envelope,
    parse_task_ids,
    peek_row,
    snippet,
    structure_balance,
    structure_points_log,
    structure_task,
)
from suno_async._points import PointsEntry, PointsEntryKind, PointsLogPage
from suno_async._results import decode_row
from suno_async._waiting import _result
from suno_async._watched import take_news
from suno_async.testing import FakeSunoServer

# --- strategies --------------------------------------------------------------------------

#: The names the API and Suno use, so generated objects often look almost right.
WIRE_KEYS = (
    "id", "task_id", "taskId", "status", "custom_id", "customId", "fileInfo", "file_info",
    "extend", "errormsg", "errormsgEn", "remaining_points", "remainingPoints", "rows", "list",
    "records", "total", "code", "message", "msg", "success", "data", "ids", "task_ids",
    "clips", "songs", "alignment", "aligned_words", "state", "word", "start_s", "end_s",
    "p_align", "video_url", "wav_file_url", "wav_url", "url", "metadata", "title",
    "audio_url", "audioUrl", "duration", "prompt", "tags", "mp3Url", "mp4Url", "coverUrl",
    "extra",
)  # fmt: skip


def _json_strategies(*, strict: bool) -> tuple[st.SearchStrategy[Any], ...]:
    """
    JSON values, objects and answers. ``strict`` ones survive a strict encoder (orjson's,
    the transport's): no NaN, infinities, lone surrogates or numbers past a double.
    """
    text = (
        st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
        if strict
        else st.text(max_size=8)
    )
    keys = st.sampled_from(WIRE_KEYS) | text
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**64 - 1)
        | st.floats(allow_nan=not strict, allow_infinity=not strict)
        | text
        | st.sampled_from(["1", "3", "4", " 2 ", "1e999", "nan", "-1", "199824", "", "9" * 5000])
    )
    if not strict:
        scalars |= st.integers() | st.integers(min_value=10**300, max_value=10**400)
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
        max_leaves=15,
    )
    #: A value, or the same as JSON text (``extend`` is documented as a JSON string).
    maybe_text = values | values.map(_text_of) | text
    #: Objects shaped like the API's, with any value under any of its keys.
    objects = st.dictionaries(keys, maybe_text, max_size=8)
    return keys, values, maybe_text, objects


def _text_of(value: object) -> str:
    return json.dumps(value)


keys, json_values, maybe_text, objects = _json_strategies(strict=False)
answers = json_values | objects
_, wire_values, wire_text, wire_objects = _json_strategies(strict=True)
wire_answers = wire_objects | wire_values


@st.composite
def rows(draw: st.DrawFn, task_id: int = 199824, *, strict: bool = False) -> dict[str, Any]:
    """A finished row of ``task_id`` with anything else in it: a clip, junk, or both."""
    objects_, texts = (wire_objects, wire_text) if strict else (objects, maybe_text)
    row: dict[str, Any] = draw(objects_)
    for live_key in ("result", "task_id", "taskId", "status_code", "statusCode"):
        row.pop(live_key, None)  # these say which task and status a live row is about
    row["id"] = draw(st.sampled_from([task_id, str(task_id)]))
    row["status"] = draw(st.sampled_from([3, 4, "3", "4"]))
    custom_id = draw(st.sampled_from(["clip-a", None, 5]) | texts)
    clip = draw(st.dictionaries(keys, texts, max_size=6))
    clip["id"] = draw(st.sampled_from(["clip-a", "clip-b", 7, None]))
    junk = wire_values if strict else json_values
    extend = draw(st.sampled_from([[clip], [clip, clip], clip, {"clips": [clip]}]) | junk)
    row["custom_id"] = custom_id
    row["extend"] = draw(st.sampled_from([json.dumps(extend), extend]))
    return row


# --- what a typed result is --------------------------------------------------------------


def _optional(value: object, cls: type | tuple[type, ...]) -> bool:
    return value is None or isinstance(value, cls)


def check_task(task: object) -> None:
    assert type(task) is Task
    assert type(task.id) is int
    assert type(task.status) is TaskStatus
    for name in ("custom_id", "errormsg", "errormsg_en"):
        assert _optional(getattr(task, name), str), name
    assert _optional(task.file_info, FileInfo)
    if task.file_info is not None:
        for name in ("mp3_url", "mp4_url", "cover_url"):
            assert _optional(getattr(task.file_info, name), str), name
    assert isinstance(task.extra, Mapping)


SONG_TEXTS = (
    "id", "title", "audio_url", "video_url", "image_url", "image_large_url", "tags", "lyrics",
    "description", "model_name", "major_model_version", "created_at", "status",
)  # fmt: skip


def check_result(result: object, kind: TaskKind) -> None:
    """The type ``kind`` promises, with every field of the type it declares."""
    if kind is TaskKind.TASK:
        check_task(result)
        return
    expected = {
        TaskKind.SONG: Song,
        TaskKind.ALIGNMENT: LyricsAlignment,
        TaskKind.VIDEO: Video,
        TaskKind.WAV: Wav,
    }[kind]
    assert type(result) is expected
    assert isinstance(result, (Song, LyricsAlignment, Video, Wav))
    assert type(result.task_id) is int
    if isinstance(result, Song):
        for name in SONG_TEXTS:
            assert _optional(getattr(result, name), str), name
        assert _optional(result.duration, float)
        assert isinstance(result.extra, Mapping)
    elif isinstance(result, LyricsAlignment):
        assert _optional(result.state, str)
        for word in result.words:
            assert type(word) is AlignedWord
            assert isinstance(word.word, str)
            assert isinstance(word.start_s, float)
            assert isinstance(word.end_s, float)
            assert isinstance(word.success, bool)
            assert _optional(word.p_align, float)
    elif isinstance(result, Video):
        assert _optional(result.url, str)
        assert _optional(result.status, str)
    else:
        assert _optional(result.url, str)


def caught(call: Callable[[], Any]) -> Any:
    """The call's result, or the SunoError it raised (any other exception propagates)."""
    try:
        return call()
    except SunoError as exc:
        return exc


async def async_caught(awaitable: Awaitable[Any]) -> Any:
    """The awaited result, or the SunoError it raised (any other exception propagates)."""
    try:
        return await awaitable
    except SunoError as exc:
        return exc


def typed_or_wire_error(decode: Callable[[], Any]) -> Any:
    """The decoder's result, or None when it refused the value with WireFormatError."""
    try:
        return decode()
    except WireFormatError:
        return None


# --- every decoder ----------------------------------------------------------------------


@given(answers)
def test_balance_is_an_int_or_refused(data: object) -> None:
    """Any balance answer gives a Balance holding an int, or WireFormatError."""
    balance = typed_or_wire_error(lambda: structure_balance(data))
    if balance is not None:
        assert type(balance) is Balance
        assert type(balance.remaining_points) is int


#: Ledger entries with any value under the ledger's own names.
_LEDGER_KEYS = st.sampled_from(["id", "type", "points", "balance", "remark", "created_at"])
ledger_pages = answers | st.fixed_dictionaries(
    {"total": maybe_text, "list": st.lists(st.dictionaries(_LEDGER_KEYS | keys, maybe_text))}
)


@given(ledger_pages)
def test_a_points_log_page_is_typed_or_refused(data: object) -> None:
    """Any answer to the points log gives a page of typed entries, or WireFormatError."""
    page = typed_or_wire_error(lambda: structure_points_log(data, page=1, limit=10))
    if page is not None:
        assert type(page) is PointsLogPage
        assert page.total is None or (type(page.total) is int and page.total >= 0)
        for entry in page.entries:
            assert type(entry) is PointsEntry
            assert type(entry.id) is int
            assert type(entry.change) is int
            assert entry.kind is None or type(entry.kind) is PointsEntryKind
            assert entry.balance is None or type(entry.balance) is int
            assert all(v is None or type(v) is str for v in (entry.remark, entry.created_at))


@given(answers)
def test_task_ids_are_positive_ints_or_refused(data: object) -> None:
    """A paid call's answer gives at least one positive task id, or WireFormatError."""
    ids = typed_or_wire_error(lambda: parse_task_ids(data))
    if ids is not None:
        assert ids
        assert all(type(task_id) is int and task_id > 0 for task_id in ids)


@given(answers | rows())
def test_task_rows_are_typed_or_refused(row: object) -> None:
    """Any row gives a typed Task (and its id and status), or WireFormatError."""
    task = typed_or_wire_error(lambda: structure_task(row))
    if task is not None:
        check_task(task)
    peeked = typed_or_wire_error(lambda: peek_row(row))
    if peeked is not None:
        assert type(peeked[0]) is int
        assert type(peeked[1]) is TaskStatus


@given(answers | st.dictionaries(st.just("rows"), st.lists(answers | rows(), max_size=4)))
def test_batch_pages_are_typed_or_refused(data: object) -> None:
    """Any batch answer gives a page whose rows can be matched without raising."""
    page = typed_or_wire_error(lambda: parse_batch(data))
    if page is None:
        return
    assert type(page) is Page
    assert isinstance(page.rows, (list, tuple))
    assert _optional(page.total, int)
    asked: dict[int, Any] = {199824: _Watched()}
    news: list[Any] = []
    garbled: list[Any] = []
    skipped = take_news(page.rows, asked, news, garbled)
    assert len(skipped) <= len(page.rows)
    assert len(news) + len(garbled) + len(asked) == 1


class _Watched:
    def __init__(self) -> None:
        self.status: TaskStatus | None = None
        self.seen: TaskStatus | Literal[False] | None = False


@given(answers)
def test_envelopes_are_typed_or_refused(body: object) -> None:
    """Any body gives an envelope of typed fields, or WireFormatError."""
    envelope = typed_or_wire_error(lambda: parse_envelope(body))
    if envelope is not None:
        assert type(envelope) is Envelope
        assert _optional(envelope.code, int)
        assert isinstance(envelope.message, str)
        assert _optional(envelope.success, bool)
        assert isinstance(envelope.ok, bool)


@pytest.mark.parametrize("kind", list(TaskKind))
@given(row=rows() | answers, status=st.sampled_from([TaskStatus.SUCCEEDED, TaskStatus.FAILED]))
def test_every_kind_of_result_is_typed_or_a_suno_error(
    kind: TaskKind, row: object, status: TaskStatus
) -> None:
    """
    A finished row read as each kind gives that kind's type or WireFormatError; what wait()
    hands back for it is the type or a SunoError, returned, never raised.
    """
    result = typed_or_wire_error(lambda: decode_row(row, kind))
    if result is not None:
        check_result(result, kind)
    outcome = _result(TaskHandle(199824, kind), (status, row))
    if isinstance(outcome, SunoError):
        assert str(outcome)
    else:
        assert status is TaskStatus.SUCCEEDED
        assert outcome == result


@given(answers)
def test_the_paid_answer_boundary_gives_ids_or_a_charged_error(data: object) -> None:
    """A paid call's unreadable answer is an UndecodableResponseError that may have charged."""
    outcome = caught(
        lambda: AsyncSuno._decode(lambda: parse_task_ids(data), "POST", "/music/x", data, paid=True)
    )
    if isinstance(outcome, SunoError):
        assert isinstance(outcome, UndecodableResponseError)
        assert outcome.may_have_charged
        assert len(outcome.snippet) <= 200
    else:
        assert outcome


# --- deep nesting -------------------------------------------------------------------------

DEPTH = 100_000
DEEP_TEXTS = {
    "arrays": "[" * DEPTH + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
    "a clip then arrays": '[{"id": "clip-a", "x": ' + "[" * DEPTH + "]" * DEPTH + "}]",
}


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("kind", list(TaskKind))
@pytest.mark.parametrize("shape", list(DEEP_TEXTS))
def test_extend_nested_100000_deep_is_an_undecodable_result(kind: TaskKind, shape: str) -> None:
    """JSON nested 100,000 deep inside extend is refused as a normal error, not recursion."""
    row = {"id": 199824, "status": 3, "custom_id": "clip-a", "extend": DEEP_TEXTS[shape]}
    outcome = _result(TaskHandle(199824, kind), (TaskStatus.SUCCEEDED, row))
    if kind is TaskKind.TASK:
        check_task(outcome)  # a Task keeps extend unread
    else:
        assert isinstance(outcome, UndecodableResponseError)
        assert "extend" in str(outcome)


@pytest.mark.parametrize("kind", list(TaskKind))
def test_a_row_holding_a_value_nested_past_the_recursion_limit_is_reported(
    kind: TaskKind,
) -> None:
    """A decoded value deeper than repr can print still gives an error with a short snippet."""
    row = {"id": 199824, "status": 3, "custom_id": 5, "extend": {"clips": 7}, "x": _nested(5000)}
    row["errormsg"] = _nested(5000)
    outcome = _result(TaskHandle(199824, kind), (TaskStatus.FAILED, row))
    assert isinstance(outcome, UndecodableResponseError)
    assert len(outcome.snippet) <= 200


def test_snippets_are_short_whatever_the_value() -> None:
    """The error snippet of a deep or huge value is bounded, and never raises."""
    assert len(snippet(_nested(100_000))) <= 200
    assert len(snippet("x" * 10_000_000)) <= 200
    assert len(snippet({str(i): i for i in range(100_000)})) <= 200


def test_task_ids_nested_deep_in_objects_are_refused() -> None:
    """A paid call's answer of ids nested a thousand objects deep is refused, not recursed."""
    data: object = [199824]
    for _ in range(5000):
        data = {"ids": data}
    with pytest.raises(WireFormatError, match=r"no task id|expected an integer"):
        parse_task_ids(data)


@pytest.mark.parametrize(
    "data", [[], [0], [-3], ["0"], [2**64], {"ids": []}, None, "", ","], ids=repr
)
def test_task_ids_that_are_no_task_ids_are_refused(data: object) -> None:
    """An answer with no id, or a zero, negative or oversized one, is not a task id."""
    with pytest.raises(WireFormatError):
        parse_task_ids(data)


@pytest.mark.parametrize(
    ("value", "field"),
    [(10**400, "duration"), ("1e999999", "start_s"), ("nan-ish", "end_s")],
)
def test_numbers_out_of_range_are_wire_errors(value: object, field: str) -> None:
    """A number too large for a float, or not a number at all, is a WireFormatError."""
    clip = {"id": "clip-a", "duration": 1.0}
    word = {"word": "la", "start_s": 0.5, "end_s": 1.0}
    if field == "duration":
        clip[field] = value
        row = {"id": 1, "status": 3, "custom_id": "clip-a", "extend": json.dumps([clip])}
        kind = TaskKind.SONG
    else:
        word[field] = value
        row = {"id": 1, "status": 3, "extend": json.dumps({"alignment": [word]})}
        kind = TaskKind.ALIGNMENT
    if field == "start_s":
        result = decode_row(row, kind)  # "1e999999" reads as infinity: a float all the same
        assert math.isinf(result.words[0].start_s)
        return
    with pytest.raises(WireFormatError):
        decode_row(row, kind)


# --- over real HTTP ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_deep_extend_fails_only_its_own_wait(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """wait(return_exceptions=True) returns the deep extend's error beside the other song."""
    first, _ = await suno.generate(title="t", description="a cheerful pop song")
    second, _ = await suno.generate(title="t", description="a sad ballad")
    fake.task(first.task_id).call.extend = DEEP_TEXTS["arrays"]  # both songs of one call
    with anyio.fail_after(10):
        results = await suno.wait([first, second], return_exceptions=True)
    assert isinstance(results[0], UndecodableResponseError)
    assert f"task {first.task_id}" in str(results[0])
    assert isinstance(results[1], Song)
    assert results[1].task_id == second.task_id
    with pytest.raises(UndecodableResponseError):
        await suno.wait([first])


class ScriptedServer:
    """A loopback server answering every path with the envelope around ``data`` (or ``raw``)."""

    def __init__(self) -> None:
        self.data: object = None
        self.raw: bytes | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = self.raw
        if body is None:
            body = json.dumps({"code": 200, "message": "ok", "data": self.data}).encode()
        return web.Response(body=body, content_type="application/json")


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    """A scripted server on loopback for the test."""
    server = ScriptedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    async with serving(app) as origin:
        server.url = origin + "/api/v1"
        yield server


HTTP_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def scripted_suno(scripted: ScriptedServer) -> AsyncIterator[AsyncSuno]:
    """A session on the scripted server that tries each call once."""
    async with AsyncSuno(
        "k", base_url=scripted.url, poll=FAST_POLL, retry=RetryPolicy(attempts=1)
    ) as client:
        yield client


def _calls() -> Iterator[tuple[str, Callable[[AsyncSuno], Any]]]:
    yield "balance", lambda s: s.balance()
    yield "get_task", lambda s: s.get_task(199824)
    yield "get_tasks", lambda s: s.get_tasks([199824, 199825])
    yield "generate", lambda s: s.generate(title="t", description="d")
    yield "video", lambda s: s.video(199824, suno_id="clip-a")


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "call"), list(_calls()), ids=[name for name, _ in _calls()])
@HTTP_SETTINGS
@given(
    data=wire_answers
    | rows(strict=True)
    | st.lists(rows(strict=True), max_size=2).map(lambda r: {"rows": r})
)
async def test_any_answer_over_http_is_typed_or_a_suno_error(
    scripted: ScriptedServer,
    scripted_suno: AsyncSuno,
    name: str,
    call: Callable[[AsyncSuno], Any],
    data: object,
) -> None:
    """Whatever data an answer carries, each call returns its type or raises a SunoError."""
    scripted.data = data
    with anyio.fail_after(5):
        result = await async_caught(call(scripted_suno))
    if isinstance(result, SunoError):
        assert str(result)
        return
    if name == "balance":
        assert type(result.remaining_points) is int
    elif name == "get_task":
        check_task(result)
    elif name == "get_tasks":
        for task in result:
            check_task(task)
    elif name == "generate":
        assert result
        assert all(type(handle.task_id) is int for handle in result)
    else:
        assert type(result.task_id) is int


@pytest.mark.anyio
@pytest.mark.parametrize("kind", [TaskKind.SONG, TaskKind.ALIGNMENT, TaskKind.TASK])
@HTTP_SETTINGS
@given(row=rows(strict=True))
async def test_any_finished_row_over_http_ends_the_wait(
    scripted: ScriptedServer, scripted_suno: AsyncSuno, kind: TaskKind, row: dict[str, Any]
) -> None:
    """A polled finished row of any content ends the wait with a result or its SunoError."""
    scripted.data = {"rows": [row], "total": 1}
    with anyio.fail_after(5):
        (outcome,) = await scripted_suno.wait(
            [scripted_suno.handle(199824, kind)], return_exceptions=True
        )
    if not isinstance(outcome, SunoError):
        check_result(outcome, kind)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "raw",
    [
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"code":200,"data":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        b'{"code":200,"data":{"rows":[{"id":199824,"status":3,"extend":"'
        + b"[" * DEPTH
        + b"]" * DEPTH
        + b'"}]}}',
    ],
    ids=["body", "data", "extend"],
)
async def test_a_deep_answer_over_http_is_a_suno_error(
    scripted: ScriptedServer, scripted_suno: AsyncSuno, raw: bytes
) -> None:
    """An answer nested 100,000 deep, anywhere, ends the call with a SunoError."""
    scripted.raw = raw
    with anyio.fail_after(5):
        # Unreadable polls back off rather than fail the wait at once: the wait's own
        # timeout (a SunoError too) bounds it.
        outcome = await async_caught(
            scripted_suno.wait(
                [scripted_suno.handle(199824, TaskKind.SONG)], timeout=1, return_exceptions=True
            )
        )
        balance = await async_caught(scripted_suno.balance())
        paid = await async_caught(scripted_suno.generate(title="t", description="d"))
    assert isinstance(outcome, SunoError) or isinstance(outcome[0], SunoError)
    assert isinstance(balance, SunoError)
    assert isinstance(paid, SunoError)
    assert paid.may_have_charged


# --- the public calls' validation ----------------------------------------------------------

#: Values that are valid somewhere, so the fuzzing reaches the rules past the type checks.
LIKELY = [
    "CLIP", "TASK", "199824", 199824, "chirp-carp", "chirp-v4", "subtle", 0.5, 1, 2, 1.5, "m",
    "https://example.com/a.mp3", "pop", "", " ", "\ud800", "x" * 6000, "chirp-crow",
    "C minor", 120, 300, 301,
]  # fmt: skip
hostile = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals(allow_nan=True)
    | st.fractions()
    | st.text(max_size=12)
    | st.binary(max_size=4)
    | st.lists(st.integers() | st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
    | st.sampled_from(LIKELY)
)

#: Each call's valid arguments ("CLIP" and "TASK" stand for a finished song's ids), and the
#: fields a refusal may name besides the argument changed (rules that tie two together).
CALLS: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "generate": (
        {"title": "t", "description": "a cheerful pop song"},
        frozenset({"description/lyrics", "tags", "lyrics", "description"}),
    ),
    "extend": (
        {"clip_id": "CLIP", "continue_at": 10, "title": "t", "description": "d"},
        frozenset({"description/lyrics", "tags", "lyrics", "description", "continue_at"}),
    ),
    "cover": (
        {"clip_id": "CLIP", "title": "t", "description": "d"},
        frozenset({"description/lyrics", "tags", "lyrics", "description"}),
    ),
    "upload": ({"audio_url": "https://example.com/a.mp3"}, frozenset()),
    "whole_song": ({"clip_id": "CLIP"}, frozenset()),
    "aligned_lyrics": ({"suno_id": "CLIP", "lyrics": "la la"}, frozenset()),
    "remaster": ({"clip_id": "CLIP", "model": "chirp-carp"}, frozenset({"variation"})),
    "video": ({"task_id": "TASK", "suno_id": "CLIP"}, frozenset()),
    "convert_wav": ({"task_id": "TASK", "suno_id": "CLIP"}, frozenset()),
    "crop": ({"clip_id": "CLIP", "start_s": 0, "end_s": 5}, frozenset({"start_s"})),
    "speed": ({"clip_id": "CLIP", "multiplier": 1.5}, frozenset()),
    "sound": ({"title": "t", "tags": "a bell"}, frozenset()),
    "points_log": ({"page": 1, "limit": 10}, frozenset()),
    "get_task": ({"task_id": "TASK"}, frozenset()),
    "get_tasks": ({"task_ids": ["TASK"]}, frozenset()),
    "wait": ({"items": ["TASK"], "timeout": 5}, frozenset()),
}
#: Arguments each call takes besides its required ones, so the fuzzing tries them too.
OPTIONS: dict[str, tuple[str, ...]] = {
    "generate": ("lyrics", "tags", "model", "negative_tags", "instrumental", "vocal_gender",
                 "style_weight", "weirdness"),
    "extend": ("lyrics", "tags", "audio_weight", "model"),
    "cover": ("lyrics", "tags", "audio_weight", "vocal_gender"),
    "remaster": ("variation",),
    "speed": ("keep_pitch", "title"),
    "sound": ("model", "tempo", "key", "loop"),
    "wait": ("return_exceptions",),
}  # fmt: skip
#: Refusals of the fake server about what ids refer to, which no local check can know.
SERVICE_ONLY = ("does not belong to task_id", "is not a song task", "not complete")


@pytest.fixture
async def finished_song(suno: AsyncSuno, fake: FakeSunoServer) -> Song:
    """A finished song on the fake server, whose ids stand in for CLIP and TASK."""
    song = (await suno.wait(await suno.generate(title="t", description="d")))[0]
    fake.requests.clear()
    return song


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(CALLS))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=st.tuples(st.integers(min_value=0, max_value=99), hostile))
async def test_bad_input_is_refused_unsent_and_good_input_is_accepted(
    suno: AsyncSuno, fake: FakeSunoServer, finished_song: Song, name: str, case: tuple[int, Any]
) -> None:
    """
    Any value for any argument of a public call is either refused with a ValidationError
    naming that argument, with nothing sent, or sent and not refused by the service's rules.
    """
    arguments, also = CALLS[name]
    # Drawn before the test runs (a draw inside the event loop could stop it mid-test).
    names = [*arguments, *OPTIONS.get(name, ())]
    choice, value = case
    argument = names[choice % len(names)]
    stand_in = {"CLIP": finished_song.id, "TASK": finished_song.task_id}

    def real(item: object) -> object:
        if isinstance(item, list):
            return [real(part) for part in item]
        return stand_in.get(item, item) if isinstance(item, str) else item

    kwargs = {key: real(item) for key, item in (arguments | {argument: value}).items()}
    before = fake.total_requests
    with anyio.fail_after(10):
        outcome = await async_caught(getattr(suno, name)(**kwargs))
    if isinstance(outcome, ValidationError):
        assert outcome.field.partition("[")[0] in {argument, *also}, (argument, outcome)
        assert fake.total_requests == before
    elif isinstance(outcome, APIError):  # sent; any other outcome is the service's or the wait's
        refused = outcome.code == 400 and not any(s in str(outcome) for s in SERVICE_ONLY)
        assert not refused, f"{name}({argument}={value!r}) was sent and refused: {outcome}"


# --- settings -------------------------------------------------------------------------------

POLICIES: dict[str, type] = {
    "Timeouts": Timeouts,
    "RetryPolicy": RetryPolicy,
    "PollPolicy": PollPolicy,
}


@pytest.mark.parametrize("name", list(POLICIES))
@given(case=st.tuples(st.integers(min_value=0, max_value=99), hostile))
def test_any_policy_setting_is_valid_or_refused_by_name(name: str, case: tuple[int, Any]) -> None:
    """A policy built with any value for any field is valid, or refused naming that field."""
    cls = POLICIES[name]
    fields = [field.name for field in attrs.fields(cls)]
    choice, value = case
    field = fields[choice % len(fields)]
    built = caught(lambda: cls(**{field: value}))
    if isinstance(built, SunoError):
        assert isinstance(built, ConfigurationError)
        assert str(built).startswith(f"{name}.{field}"), built
        return
    kept = getattr(built, field)
    if field == "first_poll":
        assert set(kept) == set(TaskKind)
        assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in kept.values())
    elif kept is not None:
        assert type(kept) in (int, float), (field, value)
        assert math.isfinite(kept)
        assert kept >= 0
