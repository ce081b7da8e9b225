"""The converter: every wire quirk the reference leaves open, and round trips of the models."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suno_async import AlignedWord, Balance, FileInfo, Task, TaskKind, TaskStatus
from suno_async._convert import (
    WireFormatError,
    _snake,
    converter,
    parse_batch,
    parse_envelope,
    parse_task_ids,
    peek_row,
    structure_balance,
    structure_task,
)
from suno_async._encode import encode_request
from suno_async._models import GenerateRequest, RemasterRequest, SpeedRequest
from suno_async._results import decode_row

CLIP_ID = "0f65a62b-3c55-4af6-8353-56be806b93d2"
OTHER_ID = "9a1f1e4e-5b2c-4a57-9a0e-3f2b8a7c6d10"

texts = st.text(max_size=20)
urls = st.none() | st.from_regex(r"https://cdn\.example/[a-z]{1,8}\.mp3", fullmatch=True)
file_infos = st.builds(FileInfo, mp3_url=urls, mp4_url=urls, cover_url=urls)
tasks = st.builds(
    Task,
    id=st.integers(min_value=1, max_value=2**40),
    status=st.sampled_from(TaskStatus),
    custom_id=st.none() | st.uuids().map(str),
    file_info=st.none() | file_infos,
    errormsg=st.none() | texts.filter(bool),
    errormsg_en=st.none() | texts.filter(bool),
    extend=st.none() | texts.filter(bool),
)
words = st.builds(
    AlignedWord,
    word=texts,
    start_s=st.floats(0, 600, allow_nan=False),
    end_s=st.floats(0, 600, allow_nan=False),
    success=st.booleans(),
    p_align=st.none() | st.floats(0, 1, allow_nan=False),
)


@given(tasks)
def test_task_round_trip(task: Task) -> None:
    """A task unstructured to the wire's camelCase names structures back equal."""
    wire = converter.unstructure(task)
    assert "fileInfo" in wire
    assert "errormsgEn" in wire
    assert structure_task(wire) == task


# Each Task field as a row may spell it; rows mix spellings, numbers as strings, new fields.
_SPELLINGS = {
    "id": ["id", "task_id", "taskId"],
    "fileInfo": ["fileInfo", "file_info"],
    "errormsgEn": ["errormsgEn", "errormsg_en"],
    "custom_id": ["custom_id", "customId"],
}
_new_fields = st.dictionaries(
    st.sampled_from(["progress", "mv", "type", "created_at", "createdAt", "Type", "_", "x1"]),
    st.none() | texts | st.integers(),
    max_size=4,
)


@given(tasks, st.data(), _new_fields)
def test_a_task_reads_the_same_in_every_spelling(
    task: Task, data: st.DataObject, new_fields: dict[str, Any]
) -> None:
    """Every spelling of a task's fields, numbers as strings and new fields: the same task."""
    row = dict(converter.unstructure(task))
    for wire, spellings in _SPELLINGS.items():
        if wire in row:
            row[data.draw(st.sampled_from(spellings))] = row.pop(wire)
    if data.draw(st.booleans()):
        row["id"] = str(row.pop("id", row.pop("task_id", row.pop("taskId", None))))
    if data.draw(st.booleans()):
        row["status"] = str(row["status"])
    row.update(new_fields)
    read = structure_task(row)
    assert read == task
    # New fields are kept, under snake_case names.
    assert set(read.extra) == {_snake(key) for key in new_fields}


@given(file_infos)
def test_file_info_round_trip(info: FileInfo) -> None:
    """File info round-trips through mp3Url/mp4Url/coverUrl."""
    assert converter.structure(converter.unstructure(info), FileInfo) == info


@given(words)
def test_aligned_word_round_trip(word: AlignedWord) -> None:
    """Aligned words round-trip."""
    assert converter.structure(converter.unstructure(word), AlignedWord) == word


@given(st.integers(min_value=0, max_value=10**9))
def test_balance_round_trip(points: int) -> None:
    """A balance round-trips, and numbers sent as strings are read as numbers."""
    assert structure_balance(converter.unstructure(Balance(points))) == Balance(points)
    assert structure_balance({"remaining_points": str(points)}) == Balance(points)


def test_task_accepts_strings_nulls_snake_case_and_unknown_fields() -> None:
    """Numbers as strings, snake_case names, nulls and new fields are all read."""
    task = structure_task(
        {
            "id": "199824",
            "status": "3",
            "file_info": {"mp3_url": "https://x/a.mp3", "mp4Url": None},
            "custom_id": CLIP_ID,
            "errormsg": None,
            "progress": "100%",
        }
    )
    assert task.id == 199824
    assert task.status is TaskStatus.SUCCEEDED
    assert task.file_info == FileInfo(mp3_url="https://x/a.mp3")
    assert task.extra == {"progress": "100%"}
    assert task.errormsg_en is None


@pytest.mark.parametrize("file_info", [None, "", {}])
def test_empty_file_info_is_none_or_empty(file_info: object) -> None:
    """A running task's fileInfo may be null, empty or an empty object."""
    task = structure_task({"id": 1, "status": 2, "fileInfo": file_info, "extend": ""})
    assert task.file_info in (None, FileInfo())


def test_peek_reads_only_id_and_status() -> None:
    """The cheap path reads id and status, as numbers or strings."""
    assert peek_row({"id": "5", "status": "2", "extend": "{not json"}) == (5, TaskStatus.GENERATING)
    with pytest.raises(WireFormatError):
        peek_row(["not", "a", "row"])


@pytest.mark.parametrize(
    ("body", "code", "success", "message"),
    [
        ({"code": 200, "message": "ok", "data": 1, "success": True}, 200, True, "ok"),
        (
            {"code": 200, "data": {"id": 1, "success": True, "message": "请求成功"}},
            200,
            True,
            "请求成功",
        ),
        ({"code": "401", "message": "bad key", "data": None}, 401, None, "bad key"),
        ({"code": 200, "data": {"success": False, "message": "no"}}, 200, False, "no"),
    ],
)
def test_envelope_success_and_message_at_either_level(
    body: dict[str, Any], code: int, success: bool | None, message: str
) -> None:
    """``success`` and ``message`` may sit at the top or inside ``data``."""
    envelope = parse_envelope(body)
    assert (envelope.code, envelope.success, envelope.message) == (code, success, message)
    assert envelope.ok is (code == 200 and success is not False)


def test_envelope_rejects_non_envelopes() -> None:
    """JSON that is not the envelope is a wire format error, not a success."""
    with pytest.raises(WireFormatError):
        parse_envelope({"hello": "world"})
    with pytest.raises(WireFormatError):
        parse_envelope([1, 2])


@pytest.mark.parametrize(
    ("data", "ids"),
    [
        ([199824, 199825], [199824, 199825]),
        (["1", "2"], [1, 2]),
        (7, [7]),
        ("7", [7]),
        ({"ids": [3, 4]}, [3, 4]),
        ({"task_id": "9"}, [9]),
        ("1,2", [1, 2]),
    ],
)
def test_task_ids_in_every_shape(data: object, ids: list[int]) -> None:
    """New task ids come as a list, a number, a string or an object."""
    assert parse_task_ids(data) == ids


def test_task_ids_missing_is_an_error() -> None:
    """No id at all is reported, never taken as an empty success."""
    with pytest.raises(WireFormatError):
        parse_task_ids(None)


def test_batch_with_and_without_total() -> None:
    """Batch data may carry a total or not, or be a bare list of rows."""
    assert parse_batch({"rows": [{"id": 1}], "total": "4"}).total == 4
    assert parse_batch({"rows": []}).total is None
    assert len(parse_batch([{"id": 1}, {"id": 2}]).rows) == 2


def _clip(clip_id: str, title: str) -> dict[str, Any]:
    return {
        "id": clip_id,
        "title": title,
        "audio_url": f"https://cdn/{clip_id}.mp3",
        "image_url": None,
        "model_name": "chirp-v4",
        "metadata": {"tags": "pop", "prompt": "[Verse] hi", "duration": "61.5"},
        "play_count": 0,
    }


@pytest.mark.parametrize(
    "encode", [json.dumps, lambda clips: clips, lambda clips: {"clips": clips}]
)
def test_song_is_the_clip_matching_custom_id(encode: Any) -> None:
    """Of the two clips in extend, the song is the one whose id is the task's custom_id."""
    clips = [_clip(OTHER_ID, "other"), _clip(CLIP_ID, "mine")]
    task = structure_task(
        {
            "id": 1,
            "status": 3,
            "custom_id": CLIP_ID,
            "extend": encode(clips),
            "fileInfo": {"coverUrl": "https://cdn/c.png"},
        }
    )
    song = decode_row(task, TaskKind.SONG)
    assert (song.id, song.title, song.duration, song.tags) == (CLIP_ID, "mine", 61.5, "pop")
    assert song.lyrics == "[Verse] hi"
    assert song.image_url == "https://cdn/c.png"
    assert song.extra["play_count"] == 0


_MINE, _OTHER = _clip(CLIP_ID, "mine"), _clip(OTHER_ID, "other")
_NUMBERED = {**_clip("0", "numbered"), "id": 12345}


@pytest.mark.parametrize(
    ("custom_id", "clips", "dumps"),
    [
        (CLIP_ID, [_MINE, _OTHER], json.dumps),
        (CLIP_ID, [_OTHER, _MINE], json.dumps),
        (CLIP_ID, [_MINE, _OTHER], partial(json.dumps, indent=2)),
        (CLIP_ID, [_OTHER, _MINE], lambda clips: f" \n\t{json.dumps(clips, indent=1)}\r\n"),
        (CLIP_ID, [1, "x", None, _MINE], json.dumps),
        (CLIP_ID, [_OTHER], json.dumps),
        (CLIP_ID, [_OTHER, _OTHER], json.dumps),
        (CLIP_ID, [], json.dumps),
        ("12345", [_OTHER, _NUMBERED], json.dumps),
        (CLIP_ID, {"clips": [_OTHER, _MINE]}, json.dumps),
        (CLIP_ID, _MINE, json.dumps),
    ],
    ids=[
        "first",
        "second",
        "indented",
        "spaced",
        "after-non-clips",
        "only-another",
        "no-match",
        "empty",
        "numeric-id",
        "object",
        "lone-clip",
    ],
)
def test_extend_as_text_or_decoded_gives_the_same_song(
    custom_id: str, clips: Any, dumps: Callable[[Any], str]
) -> None:
    """extend sent as JSON text or already decoded gives the same song."""
    row = {"id": 1, "status": 3, "custom_id": custom_id}
    from_text = decode_row({**row, "extend": dumps(clips)}, TaskKind.SONG)
    whole = decode_row({**row, "extend": clips}, TaskKind.SONG)
    assert from_text == whole
    assert dict(from_text.extra) == dict(whole.extra)


def test_a_song_reads_the_same_from_every_spelling_of_its_row() -> None:
    """Every spelling of a finished row gives the same song, read as a row or as a Task."""
    clip = _clip(CLIP_ID, "mine")
    clip["title"] = 7
    extend = json.dumps([_clip(OTHER_ID, "other"), clip])
    files = [None, "", {"mp3Url": "https://cdn/b.mp3", "coverUrl": "https://c"}]
    shapes = itertools.product(
        ["id", "task_id", "taskId"],
        [5, "5"],
        ["custom_id", "customId"],
        ["fileInfo", "file_info", None],
        files,
        [False, True],
    )
    for id_key, task_id, custom_key, files_key, file_info, camel_extra in shapes:
        row: dict[str, Any] = {id_key: task_id, "status": 3, custom_key: CLIP_ID}
        row |= {"extend": extend, "progress": "100%"}
        if files_key is not None:
            row[files_key] = file_info
        if camel_extra:
            row["createdAt"] = "2026-11-25"
        direct = decode_row(row, TaskKind.SONG)
        through_task = decode_row(structure_task(row), TaskKind.SONG)
        assert direct == through_task, row
        assert direct.extra == through_task.extra
        assert (direct.task_id, direct.id, direct.title) == (5, CLIP_ID, "7")
        assert direct.image_url == ("https://c" if files_key and file_info else None)


def test_song_falls_back_to_file_info_when_extend_is_empty() -> None:
    """A finished task with no extend still gives its URLs from fileInfo."""
    task = structure_task(
        {
            "id": 2,
            "status": 3,
            "custom_id": CLIP_ID,
            "extend": None,
            "fileInfo": {"mp3Url": "https://cdn/b.mp3", "mp4Url": "https://cdn/a.mp4"},
        }
    )
    song = decode_row(task, TaskKind.SONG)
    assert (song.id, song.audio_url, song.video_url) == (
        CLIP_ID,
        "https://cdn/b.mp3",
        "https://cdn/a.mp4",
    )


def test_alignment_video_and_wav_shapes() -> None:
    """The documented extend shapes of alignment, video and wav tasks are read."""
    alignment = decode_row(
        structure_task(
            {
                "id": 3,
                "status": 3,
                "extend": json.dumps(
                    {
                        "state": "complete",
                        "alignment": [
                            {
                                "word": "最",
                                "success": True,
                                "start_s": 0.638,
                                "end_s": 1.037,
                                "p_align": 1,
                            }
                        ],
                    }
                ),
            }
        ),
        TaskKind.ALIGNMENT,
    )
    assert alignment.words == (AlignedWord("最", 0.638, 1.037, True, 1.0),)
    video = decode_row(
        structure_task(
            {"id": 4, "status": 3, "extend": '{"status": "complete", "video_url": "https://v.mp4"}'}
        ),
        TaskKind.VIDEO,
    )
    assert (video.url, video.status) == ("https://v.mp4", "complete")
    wav = decode_row(
        structure_task({"id": 5, "status": 3, "extend": {"wav_file_url": "https://w.wav"}}),
        TaskKind.WAV,
    )
    assert wav.url == "https://w.wav"


def test_broken_extend_is_a_wire_format_error() -> None:
    """Truncated extend JSON is reported, not silently read as empty."""
    task = structure_task({"id": 6, "status": 3, "extend": '[{"id": "'})
    with pytest.raises(WireFormatError, match="task 6"):
        decode_row(task, TaskKind.SONG)


def test_generate_request_wire_names() -> None:
    """Requests are encoded with the wire's names; unset options are left out."""
    body = encode_request(
        GenerateRequest(
            model="chirp-v4",
            title="t",
            lyrics="la",
            tags="pop",
            vocal_gender="f",
            style_weight=0.5,
            continue_clip_id=CLIP_ID,
            continue_at=12.0,
        )
    )
    assert body == {
        "prompt": "la",
        "tags": "pop",
        "mv": "chirp-v4",
        "title": "t",
        "make_instrumental": False,
        "task": "extend",
        "continue_clip_id": CLIP_ID,
        "continue_at": 12.0,
        "metadata": {"vocal_gender": "f", "control_sliders": {"style_weight": 0.5}},
    }
    assert encode_request(RemasterRequest(CLIP_ID, "chirp-carp", "high")) == {
        "clip_id": CLIP_ID,
        "model_name": "chirp-carp",
        "variation_category": "high",
    }
    assert encode_request(SpeedRequest(CLIP_ID, 1.5)) == {
        "clip_id": CLIP_ID,
        "speed_multiplier": 1.5,
        "keep_pitch": False,
    }


def test_a_row_keyed_task_id_is_read_like_id() -> None:
    """A row naming its id ``task_id`` or ``taskId`` is read by both the peek and the full path."""
    for key in ("task_id", "taskId"):
        row = {key: "42", "status": 3}
        assert peek_row(row) == (42, TaskStatus.SUCCEEDED)
        assert structure_task(row).id == 42


@pytest.mark.parametrize(
    "row",
    [
        {"id": 2623250, "task_id": "139434909", "status": "processing", "result": {"status": 2}},
        {"id": 2623250, "task_id": "139434909", "status": "mystery", "result": {"status": 3}},
        # Spellings flat_row weighs before the fast path's: each must win as it does there.
        {"id": 1, "task_id": "7", "status_code": 4, "result": {"status": 2}},
        {"id": 1, "task_id": "7", "result": {"status": 2, "task_id": "8"}},
        {"id": 1, "task_id": "7", "result": {"status": 1, "status_code": 3}},
        {"id": 1, "task_id": "0", "result": {"id": 9, "status": 2}},
        {"id": 1, "task_id": 7, "result": {"status": True}},
    ],
)
def test_peek_row_agrees_with_the_whole_reading_of_a_live_row(row: dict[str, Any]) -> None:
    """The few lookups of a usual live row give what reading the whole row gives."""
    task = structure_task(row)
    assert peek_row(row) == (task.id, task.status)
