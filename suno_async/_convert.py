"""
The one place that knows the wire format.

Every quirk the API reference leaves open is absorbed here: camelCase or snake_case names,
numbers sent as strings, null or missing fields, unknown new fields (ignored, kept in
``extra``), ``extend`` as a JSON string or already decoded or empty while a task runs, and
``success``/``message`` at either level of the envelope. Nothing else reads raw dicts.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._checks import MAX_TASK_ID
from ._errors import RequestInfo, UndecodableResponseError
from ._models import (
    EMPTY,
    AlignedLyricsRequest,
    AlignedWord,
    Balance,
    ConvertWavRequest,
    CropRequest,
    FileInfo,
    GenerateRequest,
    LyricsAlignment,
    RemasterRequest,
    Song,
    SpeedRequest,
    Task,
    TaskKind,
    TaskStatus,
    UploadRequest,
    Video,
    VideoRequest,
    Wav,
    WholeSongRequest,
)

__all__ = [
    "Envelope",
    "Page",
    "WireFormatError",
    "converter",
    "decode_row",
    "encode_request",
    "parse_batch",
    "parse_envelope",
    "parse_task_ids",
    "peek_row",
    "snippet",
    "structure_balance",
    "structure_task",
    "unreadable",
]

T = TypeVar("T")

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class WireFormatError(ValueError):
    """A body parsed as JSON but is not shaped like the API's answer."""


_SNIPPET: Final = reprlib.Repr()
_SNIPPET.maxlevel = 4
_SNIPPET.maxstring = _SNIPPET.maxother = 160
_SNIPPET.maxlist = _SNIPPET.maxtuple = _SNIPPET.maxdict = 8


def snippet(value: object, limit: int = 200) -> str:
    """
    A short repr of an answer for an error message: bounded in depth and length, so neither
    JSON nested a thousand deep nor a 200 MB body can make the error itself fail.
    """
    try:
        text = _SNIPPET.repr(value)
    except Exception:  # an error message must not fail in its turn
        text = f"<{type(value).__name__}>"
    return text[:limit]


@lru_cache(maxsize=512)
def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _snake_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {_snake(k): v for k, v in obj.items()}


def _as_mapping(obj: object, what: str) -> Mapping[str, Any]:
    if type(obj) is dict:
        return obj
    if not isinstance(obj, Mapping):
        msg = f"{what} should be a JSON object, got {type(obj).__name__}"
        raise WireFormatError(msg)
    return obj


# --- primitive quirks -------------------------------------------------------------------


def _int(value: object, _: object = None) -> int:
    if type(value) is str and value.isdecimal() and len(value) < 20:
        return int(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    msg = f"expected an integer, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _float(value: object, _: object = None) -> float:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        pass
    msg = f"expected a number, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _str(value: object, _: object = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    msg = f"expected a string, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _bool(value: object, _: object = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", ""}:
        return False
    msg = f"expected a boolean, got {snippet(value, 60)}"
    raise WireFormatError(msg)


_STATUS_BY_WIRE: Final[dict[object, TaskStatus]] = {
    **{status.value: status for status in TaskStatus},
    **{str(status.value): status for status in TaskStatus},
}


def _status(value: object, _: object = None) -> TaskStatus:
    status = _STATUS_BY_WIRE.get(value) if type(value) in (int, str) else None
    if status is not None:
        return status
    try:
        return TaskStatus(_int(value))
    except ValueError:
        msg = f"expected a task status (1 to 4), got {snippet(value, 60)}"
        raise WireFormatError(msg) from None


def _raw(value: Any, _: object = None) -> Any:
    return value


def _optional(
    fn: Callable[[object, object], T], exact: type[T] | None = None
) -> Callable[[object, object], T | None]:
    def structure(value: object, type_: object) -> T | None:
        if exact is not None and type(value) is exact and value != "":
            return value  # its type is exactly T
        if value is None or value == "":
            return None
        return fn(value, type_)

    return structure


converter: Final = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)
for _type, _fn in ((int, _int), (float, _float), (str, _str), (bool, _bool)):
    converter.register_structure_hook(_type, _fn)
    converter.register_structure_hook(_type | None, _optional(_fn, _type))
converter.register_structure_hook(TaskStatus, _status)

# Field names on the wire, where they differ from ours.
_WIRE_NAMES: Final[Mapping[type, Mapping[str, str]]] = {
    FileInfo: {"mp3_url": "mp3Url", "mp4_url": "mp4Url", "cover_url": "coverUrl"},
    Task: {"file_info": "fileInfo", "errormsg_en": "errormsgEn"},
}


def _register_wire_class(cls: type[Any]) -> None:
    """
    Structure from snake_case (the wire's camelCase folded first), keeping unknown keys.

    Unstructuring writes the wire's own names, so round trips exercise the same quirks.
    """
    names = _WIRE_NAMES.get(cls, {})
    fields = attrs.fields(cls)
    known = {f.name for f in fields}
    has_extra = "extra" in known
    overrides: dict[str, Any] = {}
    if has_extra:
        overrides["extra"] = override(struct_hook=_raw, omit=True)
    if "extend" in known:
        overrides["extend"] = override(struct_hook=_raw)
    generated = make_dict_structure_fn(cls, converter, **overrides)

    def structure(obj: object, _: object) -> Any:
        data = _snake_keys(_as_mapping(obj, cls.__name__))
        if cls is Task and "id" not in data and "task_id" in data:
            data["id"] = data.pop("task_id")
        try:
            instance = generated(data, cls)
        except KeyError as exc:
            msg = f"{cls.__name__} needs {exc.args[0]!r}, which the answer lacks"
            raise WireFormatError(msg) from None
        if has_extra:
            extra = {k: v for k, v in data.items() if k not in known}
            if extra:
                object.__setattr__(instance, "extra", MappingProxyType(extra))
        return instance

    unstructure_overrides: dict[str, Any] = {
        name: override(rename=wire) for name, wire in names.items()
    }
    if has_extra:
        unstructure_overrides["extra"] = override(omit=True)
    generated_unstructure = make_dict_unstructure_fn(cls, converter, **unstructure_overrides)

    def unstructure(instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = generated_unstructure(instance)
        if has_extra:
            data.update(instance.extra)
        return data

    converter.register_structure_hook(cls, structure)
    converter.register_unstructure_hook(cls, unstructure)


def _optional_file_info(value: object, _: object) -> FileInfo | None:
    """Null, empty or an object in either spelling; read directly, as every finished row has one."""
    if not value or not isinstance(value, Mapping):
        return None
    get = value.get
    return FileInfo(
        mp3_url=_text_or_none(get("mp3Url", get("mp3_url"))),
        mp4_url=_text_or_none(get("mp4Url", get("mp4_url"))),
        cover_url=_text_or_none(get("coverUrl", get("cover_url"))),
    )


_register_wire_class(FileInfo)
converter.register_structure_hook(FileInfo | None, _optional_file_info)
for _cls in (Balance, Task, AlignedWord):
    _register_wire_class(_cls)

_structure_task_generic: Final = converter.get_structure_hook(Task)
_OPT_STR: Final = _optional(_str, str)
# How the service spells a task's fields (as the API reference shows them), and the other
# names a row may use for them (``extra`` is ours: a row sending it is read generically).
_TASK_USUAL_NAMES: Final = frozenset(
    {"id", "status", "custom_id", "fileInfo", "errormsg", "errormsgEn", "extend"}
)
_TASK_OTHER_NAMES: Final = frozenset(
    {"task_id", "taskId", "customId", "file_info", "errormsg_en", "extra"}
)


#: Whether rows with these keys (in this order) are usual; one service sends one shape.
_USUAL_SHAPES: Final[dict[tuple[str, ...], bool]] = {}


def _usual_row(row: dict[str, Any]) -> bool:
    """
    Spelt as the service spells it, and any new field in plain snake_case: such a row can
    be read with plain lookups; any other goes through the generic hook, which folds names.
    """
    shape = tuple(row)
    usual = _USUAL_SHAPES.get(shape)
    if usual is None:
        keys = row.keys()
        usual = (
            "id" in row
            and "status" in row
            and keys.isdisjoint(_TASK_OTHER_NAMES)
            and all(map(str.islower, keys - _TASK_USUAL_NAMES))
        )
        if len(_USUAL_SHAPES) >= 64:  # a service sending ever-new keys gets no memory
            _USUAL_SHAPES.clear()
        _USUAL_SHAPES[shape] = usual
    return usual


def _structure_task(obj: object, _: object = None) -> Task:
    """Every finished task passes here, so a usual row is read with plain lookups."""
    if type(obj) is not dict or not _usual_row(obj):
        return _structure_task_generic(obj, Task)  # type: ignore[no-any-return]
    get = obj.get
    task_id = obj["id"]
    extra = {key: value for key, value in obj.items() if key not in _TASK_USUAL_NAMES}
    return Task(
        id=task_id if type(task_id) is int else _int(task_id),
        status=_status(obj["status"]),
        custom_id=_OPT_STR(get("custom_id"), None),
        file_info=_optional_file_info(get("fileInfo"), None),
        errormsg=_OPT_STR(get("errormsg"), None),
        errormsg_en=_OPT_STR(get("errormsgEn"), None),
        extend=get("extend"),
        extra=MappingProxyType(extra) if extra else EMPTY,
    )


converter.register_structure_hook(Task, _structure_task)


def unreadable(
    what: str,
    exc: Exception,
    data: object,
    *,
    request: RequestInfo | None = None,
    paid: bool = False,
) -> UndecodableResponseError:
    """
    The one "could not read the answer" error: what could not be read, why, and a snippet.

    An answer to a paid call was accepted, and charged: the snippet holds its task ids.
    """
    charged = "; the call was accepted and charged: its task ids are in the snippet" if paid else ""
    return UndecodableResponseError(
        f"{what} could not be read ({exc}){charged}",
        snippet=snippet(data),
        request=request,
        may_have_charged=paid,
    )


# --- envelope ---------------------------------------------------------------------------


@attrs.frozen
class Envelope:
    """The API's ``{"code", "message", "data", "success"}`` wrapper, read leniently."""

    code: int | None
    message: str
    success: bool | None
    data: Any

    @property
    def ok(self) -> bool:
        if self.success is False:
            return False
        return self.code is None or self.code == 200


def parse_envelope(body: object) -> Envelope:
    """
    Read the envelope; ``success`` and ``message`` may sit inside ``data`` instead.

    A body with neither ``code`` nor ``success`` nor ``data`` is not an envelope at all.
    """
    top = _as_mapping(body, "the response")
    if "code" not in top and "data" not in top and "success" not in top:
        msg = "the response has no code, data or success: not the API's envelope"
        raise WireFormatError(msg)
    data = top.get("data")
    inner = data if isinstance(data, Mapping) else EMPTY
    code = top.get("code", inner.get("code") if "success" in inner else None)
    success = top.get("success", inner.get("success"))
    message = top.get("message", inner.get("message")) or top.get("msg") or ""
    return Envelope(
        code=None if code is None else _int(code),
        message=str(message),
        success=None if success is None else _bool(success),
        data=data,
    )


# --- typed results ----------------------------------------------------------------------


def structure_balance(data: object) -> Balance:
    if isinstance(data, (int, str)) and not isinstance(data, bool):
        return Balance(remaining_points=_int(data))
    balance: Balance = converter.structure(data, Balance)
    return balance


_ID_KEYS: Final = ("ids", "task_ids", "taskIds", "id", "task_id", "taskId")


def parse_task_ids(data: object) -> list[int]:
    """
    A call's new task ids: one id, a list of them, or either as strings or objects.

    At least one, each a positive 64-bit integer: a paid call answered otherwise is an
    answer that could not be read, not a handle on task 0.
    """
    for _ in range(3):  # {"data": {"ids": [...]}} at most; a deeper nest is no answer
        if not isinstance(data, Mapping):
            break
        key = next((key for key in _ID_KEYS if key in data), None)
        if key is None:
            msg = f"no task id in {snippet(list(data), 100)}"
            raise WireFormatError(msg)
        data = data[key]
    if isinstance(data, list):
        ids = [_int(item) for item in data]
    elif isinstance(data, str) and "," in data:
        ids = [_int(part) for part in data.split(",") if part.strip()]
    elif data is None:
        ids = []
    else:
        ids = [_int(data)]
    if not ids:
        msg = "the call returned no task id"
        raise WireFormatError(msg)
    for task_id in ids:
        if not 0 < task_id <= MAX_TASK_ID:
            msg = f"expected positive task ids, got {task_id}"
            raise WireFormatError(msg)
    return ids


def structure_task(row: object) -> Task:
    """A row read as a :class:`Task`; a Task read already passes through."""
    if type(row) is Task:
        return row
    return _structure_task(row)


def peek_row(row: object) -> tuple[int, TaskStatus]:
    """
    Id and status only, from a row of any shape the reference allows: while a task runs,
    that is all a poll needs, so the rest of the row is not read.
    """
    if type(row) is dict:
        task_id = row.get("id")
        wire = row.get("status")
        if type(task_id) is int and type(wire) is int:
            status = _STATUS_BY_WIRE.get(wire)
            if status is not None:
                return task_id, status
    elif not isinstance(row, Mapping):
        msg = f"a task row should be a JSON object, got {type(row).__name__}"
        raise WireFormatError(msg)
    task_id = row.get("id")
    if task_id is None:
        task_id = row.get("task_id", row.get("taskId"))
    try:
        return _int(task_id), _status(row.get("status"))
    except ValueError as exc:  # a WireFormatError, or a status the enum lacks
        msg = f"a task row with no readable id or status ({exc})"
        raise WireFormatError(msg) from exc


@attrs.frozen
class Page:
    """One page of a batch query: its rows, still raw, and the total when the service says."""

    rows: Sequence[Any]
    total: int | None


def parse_batch(data: object) -> Page:
    if isinstance(data, list):
        return Page(rows=data, total=None)
    mapping = _as_mapping(data, "a batch query's data")
    rows = mapping.get("rows", mapping.get("list", mapping.get("records"))) or ()
    if not isinstance(rows, (list, tuple)):
        msg = f"batch rows should be a list, got {type(rows).__name__}"
        raise WireFormatError(msg)
    total = mapping.get("total")
    return Page(rows=rows, total=None if total is None else _int(total))


def _decoded_extend(task_id: int, raw: Any) -> Any:
    if isinstance(raw, str):
        if not raw or raw.isspace():
            return None
        try:
            # orjson refuses JSON nested past 1,024 levels with a decode error: the json
            # module would raise RecursionError on 100,000 levels instead.
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            msg = f"task {task_id}: extend is not valid JSON ({exc})"
            raise WireFormatError(msg) from exc
    return raw


def _is_mapping(obj: object) -> bool:
    return type(obj) is dict or isinstance(obj, Mapping)


def _clips(extend: Any) -> list[Mapping[str, Any]]:
    if isinstance(extend, list):
        return [c for c in extend if _is_mapping(c)]
    if _is_mapping(extend):
        for key in ("clips", "data", "songs"):
            if isinstance(extend.get(key), list):
                return [c for c in extend[key] if _is_mapping(c)]
        return [extend] if "id" in extend else []
    return []


#: The order ``_song`` passes a Song's fields in (a test holds it to Song's own order).
SONG_FIELDS: Final = (
    "task_id", "id", "title", "audio_url", "video_url", "image_url", "image_large_url",
    "duration", "tags", "lyrics", "description", "model_name", "major_model_version",
    "created_at", "status", "extra",
)  # fmt: skip
# Song's text fields in order, each with the clip keys to try: Suno nests some under "metadata".
_SONG_TEXT: Final = (
    ("id",),
    ("title",),
    ("audio_url",),
    ("video_url",),
    ("image_url",),
    ("image_large_url",),
    ("tags",),
    ("prompt", "lyrics"),
    ("gpt_description_prompt", "description"),
    ("model_name",),
    ("major_model_version",),
    ("created_at",),
    ("status",),
)
_SONG_FIRST_KEYS: Final = tuple(keys[0] for keys in _SONG_TEXT)
_OPT_FLOAT: Final = _optional(_float)


_CAMEL_HINTS: Final = frozenset(
    {
        "audioUrl", "videoUrl", "imageUrl", "imageLargeUrl", "modelName", "createdAt",
        "majorModelVersion", "gptDescriptionPrompt",
    }
)  # fmt: skip


def _snake_if_needed(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Suno's clips are snake_case already; fold only a clip that shows camelCase names."""
    if obj.keys().isdisjoint(_CAMEL_HINTS):  # probes the eight hints, not every key
        return obj
    return _snake_keys(obj)


def _text_or_none(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if type(value) is str else _str(value)


def _text_field(keys: tuple[str, ...], data: Mapping[str, Any], meta: Mapping[str, Any]) -> Any:
    for key in keys:
        value = data.get(key)
        if value is None or value == "":
            value = meta.get(key)  # a top-level null hides no metadata
        if value is not None and value != "":
            return _text_or_none(value)
    return None


def _song(
    task_id: int, custom_id: str | None, file_info: FileInfo | object, clip: Mapping[str, Any]
) -> Song:
    """
    Each field's first key is read for all fields at once; only a field missing there (or
    not a string) takes the slow search. A song is built for every finished task, so this
    is the SDK's per-result cost. ``file_info`` may still be raw: it is read only when the
    clip lacks a URL.
    """
    data = _snake_if_needed(clip)
    nested = data.get("metadata")
    meta = _snake_if_needed(nested) if nested and _is_mapping(nested) else EMPTY
    # A key the clip lacks is looked up in metadata (where Suno puts tags and prompt); a
    # value that is not a non-empty string is searched for by the exact rule.
    texts = list(map(data.get, _SONG_FIRST_KEYS, map(meta.get, _SONG_FIRST_KEYS)))
    for index, value in enumerate(texts):
        if type(value) is not str or not value:
            texts[index] = _text_field(_SONG_TEXT[index], data, meta)
    (song_id, title, audio, video, image, image_large, tags, lyrics, description, model,
     major, created, status) = texts  # fmt: skip
    if not (audio and video and image):
        files = file_info if type(file_info) is FileInfo else _optional_file_info(file_info, None)
        if files is not None:
            audio = audio or files.mp3_url
            video = video or files.mp4_url
            image = image or files.cover_url
    duration = data.get("duration")
    if duration is None or duration == "":
        duration = meta.get("duration")
    if type(duration) is not float:
        duration = _OPT_FLOAT(duration, None)
    # In SONG_FIELDS order: by position, as keywords cost 0.5 µs of Song's 1.2 µs init.
    return Song(
        task_id,
        song_id or custom_id,
        title,
        audio,
        video,
        image,
        image_large,
        duration,
        tags,
        lyrics,
        description,
        model,
        major,
        created,
        status,
        MappingProxyType(data) if data else EMPTY,
    )


_SCAN_JSON: Final = json.JSONDecoder().raw_decode


def _past_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


def _is_clip_of(clip: Mapping[str, Any], custom_id: str) -> bool:
    clip_id = clip.get("id")
    return clip_id == custom_id or (clip_id is not None and str(clip_id) == custom_id)


def _clip_in_text(text: str, custom_id: str) -> dict[str, Any] | None:
    """
    The first clip of a JSON array that is ``custom_id``'s, read only as far as that clip.

    A generation's ``extend`` holds both its songs, and each of its two tasks needs one: the
    first task's clip comes first, so the other is never parsed. None when the text is not
    such an array or names no such clip; the caller then reads it whole, errors and all.
    """
    index = _past_space(text, 0)
    if not text.startswith("[", index):
        return None
    index = _past_space(text, index + 1)
    try:
        while True:
            clip, index = _SCAN_JSON(text, index)
            if type(clip) is dict and _is_clip_of(clip, custom_id):
                return clip
            index = _past_space(text, index)
            if not text.startswith(",", index):
                return None
            index = _past_space(text, index + 1)
    except (ValueError, RecursionError):  # the whole text is read (and refused) by orjson
        return None


def _song_of(task_id: int, custom_id: str | None, file_info: object, extend: Any) -> Song:
    if custom_id is not None and type(extend) is str:
        found = _clip_in_text(extend, custom_id)
        if found is not None:
            return _song(task_id, custom_id, file_info, found)
    clips = _clips(_decoded_extend(task_id, extend))
    if custom_id is not None:
        for clip in clips:
            if _is_clip_of(clip, custom_id):
                return _song(task_id, custom_id, file_info, clip)
    if len(clips) == 1:
        return _song(task_id, custom_id, file_info, clips[0])
    return _song(task_id, custom_id, file_info, {})


def _decode_song(task: Task) -> Song:
    return _song_of(task.id, task.custom_id, task.file_info, task.extend)


def _decode_alignment(task: Task) -> LyricsAlignment:
    extend = _decoded_extend(task.id, task.extend)
    data = _snake_keys(extend) if isinstance(extend, Mapping) else {}
    words = data.get("alignment") or data.get("aligned_words") or []
    if not isinstance(words, list):
        msg = f"task {task.id}: alignment should be a list"
        raise WireFormatError(msg)
    return LyricsAlignment(
        task_id=task.id,
        state=_text_or_none(data.get("state")),
        words=tuple(converter.structure(word, AlignedWord) for word in words),
    )


def _decode_video(task: Task) -> Video:
    extend = _decoded_extend(task.id, task.extend)
    data = _snake_keys(extend) if isinstance(extend, Mapping) else {}
    url = data.get("video_url") or (task.file_info.mp4_url if task.file_info else None)
    return Video(task_id=task.id, url=_text_or_none(url), status=_text_or_none(data.get("status")))


def _decode_wav(task: Task) -> Wav:
    extend = _decoded_extend(task.id, task.extend)
    data = _snake_keys(extend) if isinstance(extend, Mapping) else {}
    url = data.get("wav_file_url") or data.get("wav_url") or data.get("url")
    return Wav(task_id=task.id, url=_text_or_none(url))


_DECODERS: Final[Mapping[TaskKind, Callable[[Task], Any]]] = {
    TaskKind.SONG: _decode_song,
    TaskKind.ALIGNMENT: _decode_alignment,
    TaskKind.VIDEO: _decode_video,
    TaskKind.WAV: _decode_wav,
    TaskKind.TASK: lambda task: task,
}


def decode_row(row: object, kind: TaskKind) -> Any:
    """
    A finished row (or a :class:`Task` read already) as the result its kind promises.

    A song is read straight from a row in the usual shape: the :class:`Task` in between
    would cost as much as the song itself. Any other shape reads the Task first, so both
    ways give the same song.
    """
    if kind is TaskKind.SONG and type(row) is dict and _usual_row(row):
        task_id = row["id"]
        return _song_of(
            task_id if type(task_id) is int else _int(task_id),
            _OPT_STR(row.get("custom_id"), None),
            row.get("fileInfo"),
            row.get("extend"),
        )
    return _DECODERS[kind](structure_task(row))


# --- requests ---------------------------------------------------------------------------


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _encode_generate(request: GenerateRequest) -> dict[str, Any]:
    sliders = _drop_none(
        {"style_weight": request.style_weight, "weirdness_constraint": request.weirdness}
    )
    metadata = _drop_none(
        {
            "vocal_gender": request.vocal_gender,
            "control_sliders": sliders or None,
            "audio_weight": request.audio_weight,
        }
    )
    return _drop_none(
        {
            "gpt_description_prompt": request.description,
            "prompt": request.lyrics,
            "tags": request.tags,
            "negative_tags": request.negative_tags,
            "mv": request.model,
            "title": request.title,
            "make_instrumental": request.instrumental,
            "task": request.task,
            "continue_clip_id": request.continue_clip_id,
            "continue_at": request.continue_at,
            "cover_clip_id": request.cover_clip_id,
            "metadata": metadata or None,
        }
    )


_REQUEST_RENAMES: Final[Mapping[type, Mapping[str, str]]] = {
    RemasterRequest: {"model": "model_name", "variation": "variation_category"},
    CropRequest: {"start_s": "crop_start_s", "end_s": "crop_end_s"},
    SpeedRequest: {"multiplier": "speed_multiplier"},
}


def encode_request(request: object) -> dict[str, Any]:
    """The JSON body of a POST, named as the wire names it; unset options are left out."""
    if isinstance(request, GenerateRequest):
        return _encode_generate(request)
    renames = _REQUEST_RENAMES.get(type(request), {})
    fields = attrs.asdict(request, recurse=False)  # type: ignore[arg-type]
    return _drop_none({renames.get(k, k): v for k, v in fields.items()})


for _request_cls in (
    GenerateRequest,
    UploadRequest,
    WholeSongRequest,
    AlignedLyricsRequest,
    RemasterRequest,
    VideoRequest,
    ConvertWavRequest,
    CropRequest,
    SpeedRequest,
):
    converter.register_unstructure_hook(_request_cls, encode_request)
