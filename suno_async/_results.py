"""
Finished rows as the results their kinds promise: a Song, a LyricsAlignment, a Video, a Wav.

Each kind's payload is read from the row's ``extend`` (a JSON string, already decoded, or
empty), whose clips Suno spells as it likes; that reading is one job, kept apart from the
converter's rows, records and envelope in ``_convert``, whose one converter it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import orjson
from cattrs.gen import make_dict_structure_fn, override

from ._convert import (
    _TASK_SPELLINGS,
    _TASK_WIRE_NAMES,
    WireFormatError,
    _int,
    _optional_file_info,
    _respelt,
    _snake_keys,
    _str,
    converter,
    flat_row,
    structure_task,
)
from ._models import (
    EMPTY,
    AlignedWord,
    FileInfo,
    LyricsAlignment,
    Song,
    Task,
    TaskKind,
    Video,
    Wav,
)

__all__ = ["decode_row"]


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
    if not fields.keys() >= _FILE_INFO_KEYS:
        info = files if type(files) is FileInfo else _optional_file_info(files)
        if info is not None:
            known = (info.mp3_url, info.mp4_url, info.cover_url, info.duration)
            for key, value in zip(_FILE_INFO_KEYS_IN_ORDER, known, strict=True):
                if key not in fields and value:
                    fields[key] = value
    fields["task_id"] = task_id
    song: Song = _structure_song(fields, Song)
    if data:
        object.__setattr__(song, "extra", MappingProxyType(data))
    return song


#: A clip's fields that the task's FileInfo stands in for, in the order it gives them.
_FILE_INFO_KEYS_IN_ORDER: Final = ("audio_url", "video_url", "image_url", "duration")
_FILE_INFO_KEYS: Final = frozenset(_FILE_INFO_KEYS_IN_ORDER)


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
        data = flat_row(row)
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
    url = (
        data.get("wav_file_url")
        or data.get("wav_url")
        or data.get("audio_url")
        or data.get("url")
        or (task.file_info.wav_url if task.file_info else None)
    )
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
