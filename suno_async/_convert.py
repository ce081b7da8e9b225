"""
The one place that knows the wire format.

Every quirk the API reference leaves open is absorbed here: camelCase or snake_case names,
numbers sent as strings, null or missing fields, unknown new fields (ignored, kept in
``extra``), ``extend`` as a JSON string or already decoded or empty while a task runs, and
``success``/``message`` at either level of the envelope. Nothing else reads raw dicts.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
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
#: Names a field is also sent under, besides its snake_case and camelCase spellings.
_ALIASES: Final[Mapping[type, Mapping[str, str]]] = {Task: {"task_id": "id", "taskId": "id"}}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _wire_names(cls: type[Any]) -> dict[str, str]:
    """Each field's name on the wire (``extra`` aside)."""
    names = _WIRE_NAMES.get(cls, {})
    return {f.name: names.get(f.name, f.name) for f in attrs.fields(cls) if f.name != "extra"}


def _spellings(cls: type[Any]) -> dict[str, str]:
    """Every name a field may come under (snake_case, camelCase, aliases): its wire name."""
    spellings = {
        spelling: wire
        for name, wire in _wire_names(cls).items()
        for spelling in (name, wire, _camel(name))
    }
    spellings.update(_ALIASES.get(cls, {}))
    return spellings


def _respelt(others: AbstractSet[str], spellings: Mapping[str, str]) -> bool:
    """
    Whether any of these names, not the wire's own, spells a field otherwise. A name in
    lower case is its own snake_case, so only the others are respelt to be looked up.
    """
    return not (others.isdisjoint(spellings) and all(key.islower() for key in others)) and any(
        key in spellings or _snake(key) in spellings for key in others
    )


def _register_record(cls: type[Any]) -> None:
    """
    A plain record: cattrs generates its hooks, each field read under the reference's name.

    The only hand-written part is for names that vary: a row spelling a field otherwise
    (snake_case or camelCase, ``task_id`` for ``id``) is respelt first, and fields this
    version does not know are kept in ``extra`` (snake_case). Unstructuring writes the
    reference's names, so round trips exercise the same path.
    """
    names = _WIRE_NAMES.get(cls, {})
    wire_of = _wire_names(cls)
    usual = frozenset(wire_of.values())
    spellings = _spellings(cls)
    has_extra = len(wire_of) < len(attrs.fields(cls))
    overrides: dict[str, Any] = {name: override(rename=wire) for name, wire in names.items()}
    if has_extra:
        overrides["extra"] = override(omit=True)
    if "extend" in wire_of:
        overrides["extend"] = override(struct_hook=_raw)
    generated = make_dict_structure_fn(cls, converter, **overrides)

    def structure(obj: object, _: object) -> Any:
        data = _as_mapping(obj, cls.__name__)
        extra: dict[str, Any] = {}
        if not data.keys() <= usual:
            data, extra = _respell(data, spellings)
        try:
            instance = generated(data, cls)
        except KeyError as exc:
            msg = f"{cls.__name__} needs {exc.args[0]!r}, which the answer lacks"
            raise WireFormatError(msg) from None
        if extra and has_extra:
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


def _respell(
    data: Mapping[str, Any], spellings: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Known fields under the reference's names, and the others (snake_case) apart."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        wire = spellings.get(key)
        if wire is None:
            snake = _snake(key)
            wire = spellings.get(snake)
            if wire is None:
                extra[snake] = value
                continue
        if wire not in known or key == wire:  # the reference's own spelling wins
            known[wire] = value
    return known, extra


_register_record(FileInfo)
_structure_file_info: Final = converter.get_structure_hook(FileInfo)


def _optional_file_info(value: object, _: object = None) -> FileInfo | None:
    """A finished row's media URLs; null, empty or not an object while a task runs."""
    if not value or not isinstance(value, Mapping):
        return None
    info: FileInfo = _structure_file_info(value, FileInfo)
    return info


converter.register_structure_hook(FileInfo | None, _optional_file_info)
for _cls in (Balance, Task, AlignedWord):
    _register_record(_cls)
_structure_task: Final = converter.get_structure_hook(Task)
_TASK_WIRE_NAMES: Final = frozenset(_wire_names(Task).values())
_TASK_SPELLINGS: Final = _spellings(Task)


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
    task: Task = _structure_task(row, Task)
    return task


def peek_row(row: object) -> tuple[int, TaskStatus]:
    """
    Id and status only, from a row of any shape the reference allows: while a task runs,
    that is all a poll needs, so the rest of the row is not read.
    """
    if type(row) is dict:
        # The reference's own shapes: an integer id, or its digits (as some rows send it).
        task_id = row.get("id")
        wire = row.get("status")
        if type(wire) is int or type(wire) is str:
            status = _STATUS_BY_WIRE.get(wire)
            if status is not None:
                if type(task_id) is int:
                    return task_id, status
                if type(task_id) is str and task_id.isdecimal() and len(task_id) < 20:
                    return int(task_id), status
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


_CAMEL_HINTS: Final = frozenset(
    {
        "audioUrl", "videoUrl", "imageUrl", "imageLargeUrl", "modelName", "createdAt",
        "majorModelVersion", "gptDescriptionPrompt",
    }
)  # fmt: skip
#: The clip keys a Song reads; Suno nests some of them (tags, prompt) under "metadata".
_CLIP_KEYS: Final = (
    "id", "title", "audio_url", "video_url", "image_url", "image_large_url", "duration",
    "tags", "prompt", "lyrics", "gpt_description_prompt", "description", "model_name",
    "major_model_version", "created_at", "status",
)  # fmt: skip
#: Other clip keys for a Song's field, when the usual one is missing.
_CLIP_FALLBACKS: Final = (("prompt", "lyrics"), ("gpt_description_prompt", "description"))
_structure_song: Final = make_dict_structure_fn(
    Song,
    converter,
    lyrics=override(rename="prompt"),
    description=override(rename="gpt_description_prompt"),
    extra=override(omit=True),
)


def _snake_if_needed(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Suno's clips are snake_case already; fold only a clip that shows camelCase names."""
    if obj.keys().isdisjoint(_CAMEL_HINTS):
        return obj
    return _snake_keys(obj)


def _text_or_none(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if type(value) is str else _str(value)


def _song(task_id: int, custom_id: str | None, files: object, clip: Mapping[str, Any]) -> Song:
    """
    The clip's fields, each from the clip or, where the clip leaves it empty, from its
    metadata; then the task's media URLs for any the clip lacks. cattrs builds the Song.
    """
    data = _snake_if_needed(clip)
    nested = data.get("metadata")
    meta = _snake_if_needed(nested) if nested and _is_mapping(nested) else EMPTY
    fields: dict[str, Any] = {}
    for key in _CLIP_KEYS:
        value = data.get(key)
        if value is None or value == "":
            value = meta.get(key)  # a top-level null hides no metadata
        if value is not None and value != "":
            fields[key] = value
    for usual, other in _CLIP_FALLBACKS:
        if usual not in fields and other in fields:
            fields[usual] = fields[other]
    if "id" not in fields:
        fields["id"] = custom_id
    if not fields.keys() >= _MEDIA_KEY_SET:
        info = files if type(files) is FileInfo else _optional_file_info(files)
        if info is not None:
            urls = (info.mp3_url, info.mp4_url, info.cover_url)
            for key, url in zip(_MEDIA_KEYS, urls, strict=True):
                if key not in fields and url:
                    fields[key] = url
    fields["task_id"] = task_id
    song: Song = _structure_song(fields, Song)
    if data:
        object.__setattr__(song, "extra", MappingProxyType(data))
    return song


#: A clip's media URLs, in the order of the task's FileInfo that stands in for them.
_MEDIA_KEYS: Final = ("audio_url", "video_url", "image_url")
_MEDIA_KEY_SET: Final = frozenset(_MEDIA_KEYS)


def _is_clip_of(clip: Mapping[str, Any], custom_id: str) -> bool:
    clip_id = clip.get("id")
    return clip_id == custom_id or (clip_id is not None and str(clip_id) == custom_id)


def _song_parts(row: object) -> tuple[int, str | None, object, object]:
    """
    What a song needs of its task: id, custom id, extend and media URLs.

    Read straight from a row spelt as the reference spells it, as building the whole Task
    would cost more than the Song; a row spelling them otherwise is read as a Task first.
    """
    if type(row) is not Task:
        data = _as_mapping(row, "Task")
        if not _respelt(data.keys() - _TASK_WIRE_NAMES, _TASK_SPELLINGS):
            try:
                task_id = _int(data["id"])
            except KeyError:
                msg = "Task needs 'id', which the answer lacks"
                raise WireFormatError(msg) from None
            custom = data.get("custom_id")
            custom_id = None if custom is None or custom == "" else _str(custom)
            return task_id, custom_id, data.get("extend"), data.get("fileInfo")
        row = structure_task(data)
    return row.id, row.custom_id, row.extend, row.file_info


def _decode_song(row: object) -> Song:
    task_id, custom_id, extend, files = _song_parts(row)
    clips = _clips(_decoded_extend(task_id, extend))
    if custom_id is not None:
        for clip in clips:
            if _is_clip_of(clip, custom_id):
                return _song(task_id, custom_id, files, clip)
    return _song(task_id, custom_id, files, clips[0] if len(clips) == 1 else {})


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
    TaskKind.ALIGNMENT: _decode_alignment,
    TaskKind.VIDEO: _decode_video,
    TaskKind.WAV: _decode_wav,
    TaskKind.TASK: lambda task: task,
}


def decode_row(row: object, kind: TaskKind) -> Any:
    """A finished row (or a :class:`Task` read already) as the result its kind promises."""
    if kind is TaskKind.SONG:
        return _decode_song(row)
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
