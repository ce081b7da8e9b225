"""
Requests and results, as frozen slotted attrs classes.

Requests validate themselves when built, so bad input fails with a :class:`ValidationError`
naming the field and the rule before any byte is sent. Results never see raw JSON: the
converter in ``_convert`` builds them.
"""

from __future__ import annotations

import enum
import math
import re
import time
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import attrs

from ._checks import MAX_TASK_ID, check_bool, check_seconds, check_text, is_number, show
from ._errors import ValidationError

if TYPE_CHECKING:
    from ._listen import StatusChanges
    from ._waiting import Waiting

__all__ = [
    "AlignedLyricsRequest",
    "AlignedWord",
    "Balance",
    "ConvertWavRequest",
    "CropRequest",
    "FileInfo",
    "GenerateRequest",
    "GenerationModel",
    "LyricsAlignment",
    "RemasterModel",
    "RemasterRequest",
    "Song",
    "SpeedRequest",
    "StatusChange",
    "Task",
    "TaskHandle",
    "TaskKind",
    "TaskStatus",
    "UploadRequest",
    "Video",
    "VideoRequest",
    "Wav",
    "WholeSongRequest",
]

EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})

SPEED_MULTIPLIERS: Final = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
#: Generation models (``mv``) the service is known to offer, with their Suno version.
GenerationModel = Literal[
    "chirp-hawk",
    "chirp-hawk-wild",
    "chirp-goose",
    "chirp-fenix",
    "chirp-crow",
    "chirp-bluejay",
    "chirp-auk",
    "chirp-v4",
]
GENERATION_MODELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "chirp-hawk": "v6",
        "chirp-hawk-wild": "v6",
        "chirp-goose": "v6",
        "chirp-fenix": "v5.5",
        "chirp-crow": "v5",
        "chirp-bluejay": "v4.5",
        "chirp-auk": "v4.5",
        "chirp-v4": "v4",
    }
)
#: Remaster models (``model_name``) the service is known to offer, with their Suno version.
RemasterModel = Literal["chirp-halibut", "chirp-flounder", "chirp-carp", "chirp-bass", "chirp-up"]
REMASTER_MODELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "chirp-halibut": "v6",
        "chirp-flounder": "v5.5",
        "chirp-carp": "v5",
        "chirp-bass": "v4.5",
        "chirp-up": "v4",
    }
)
#: Names the service has taken offline: refused unsent rather than paid for and failed.
OFFLINE_MODELS: Final = frozenset({"chirp-v3-5", "chirp-v3-0"})
#: Remaster models older than V5, the only ones that take no ``variation``; newer names
#: (listed or not) do.
_NO_VARIATION: Final = frozenset({"chirp-bass", "chirp-up"})
VARIATIONS: Final = ("subtle", "normal", "high")
DEFAULT_MODEL: Final = "chirp-hawk"
# New model names appear every few months, so any well-formed one is accepted.
_MODEL_NAME = re.compile(r"chirp-[a-z0-9][a-z0-9.\-]*")

# (lyrics, tags, title) limits by model family, from the API reference.
_LIMITS: Final = {"v4": (3000, 200, 80), "v5": (5000, 1000, 100)}
# v1..v3 with or without ".5", and v4 but not v4.5 (v4-5, v4_5): the V4 limits.
_V4_ONLY = re.compile(r"v(?:[1-3]|4(?![.\-_]?5))(?!\d)", re.IGNORECASE)


class TaskStatus(enum.IntEnum):
    """A task's status as the service numbers it."""

    QUEUED = 1
    GENERATING = 2
    SUCCEEDED = 3
    FAILED = 4

    @property
    def finished(self) -> bool:
        return self >= TaskStatus.SUCCEEDED


class TaskKind(enum.Enum):
    """What a task produces, so its ``extend`` can be read as the right type."""

    SONG = "song"
    ALIGNMENT = "alignment"
    VIDEO = "video"
    WAV = "wav"
    #: The :class:`Task` itself, for ids whose kind is unknown (a task started elsewhere).
    TASK = "task"


def model_family(model: str) -> Literal["v4", "v5"]:
    """
    The limits family of a model name.

    Only names that plainly say v4 or older get the smaller V4 limits; v4.5, v5 and names the
    reference does not list get the V5 ones, so valid input is never refused on a guess.
    """
    return "v4" if _V4_ONLY.search(model) else "v5"


# --- validation helpers ------------------------------------------------------------------

#: Caps on texts the reference gives no limit for, so a runaway input is refused unsent:
#: a description as long as the longest lyrics (V5), a Suno id well past a UUID's 36
#: characters, a URL as long as browsers and proxies accept, and lyrics to align as long as
#: a whole song of several extensions.
DESCRIPTION_MAX: Final = 5000
SUNO_ID_MAX: Final = 100
URL_MAX: Final = 2048
ALIGN_LYRICS_MAX: Final = 20_000
_ASCII_DIGITS = re.compile(r"[0-9]+")
#: How far ahead of this clock a saved start may be (another machine's clock): a day.
_A_DAY: Final = 86_400.0
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def _fail(field: str, rule: str) -> ValidationError:
    return ValidationError(field, rule)


def check_model(field: str, value: object, known: Mapping[str, str]) -> str:
    """
    A well-formed ``chirp-*`` model name; ``known`` lists today's names for the message.

    Names the SDK does not list are accepted, so a model newer than this release still
    works; names the service has taken offline are refused.
    """
    check_text(field, value, optional=False, blank=False, limit=SUNO_ID_MAX)
    if not isinstance(value, str):  # check_text refused every other type already
        raise _fail(field, f"must be a model name, got {show(value)}")
    if value in OFFLINE_MODELS:
        raise _fail(field, f"{value!r} is offline at the service; use one of {', '.join(known)}")
    if not _MODEL_NAME.fullmatch(value):
        raise _fail(
            field,
            "must be a model name: 'chirp-' then lowercase letters, digits, dots or hyphens "
            f"(known: {', '.join(known)}), got {show(value)}",
        )
    return value


def check_suno_id(field: str, value: object) -> str:
    """Suno ids are UUID strings; a numeric task id in their place is a classic mix-up."""
    if isinstance(value, (bool, int)) or (
        isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip())
    ):
        raise _fail(
            field,
            f"{show(value)} looks like a numeric task id; pass the clip's Suno id "
            "(the UUID in a task's custom_id, or Song.id)",
        )
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, f"must be a non-empty Suno id string, got {show(value)}")
    text = value.strip()
    if len(text) > SUNO_ID_MAX or _SPACE_OR_CONTROL.search(text):
        raise _fail(field, f"must be a Suno id (a UUID, one word), got {show(value)}")
    check_text(field, text)
    return text


def check_task_id(field: str, value: object) -> int:
    """Task ids are positive integers; a Suno UUID in their place is the other mix-up."""
    if type(value) is int and 0 < value <= MAX_TASK_ID:
        return value
    if isinstance(value, bool):
        raise _fail(field, f"must be a numeric task id, got {value!r}")
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):
        digits = value.strip().lstrip("0") or "0"
        if len(digits) > len(str(MAX_TASK_ID)):
            raise _fail(field, f"is too large for a task id, got {show(value)}")
        value = int(digits)
    if isinstance(value, int):
        if value <= 0:
            raise _fail(field, f"must be a positive task id, got {value}")
        if value > MAX_TASK_ID:
            raise _fail(field, f"is too large for a task id, got {show(value)}")
        return value
    if isinstance(value, str):
        raise _fail(
            field,
            f"{show(value)} looks like a Suno id; pass the numeric task id "
            "(TaskHandle.task_id or Task.id)",
        )
    raise _fail(field, f"must be a numeric task id, got {type(value).__name__}")


def check_kind(field: str, value: object) -> TaskKind:
    """A :class:`TaskKind`; its plain value ("song") would read the result as nothing."""
    if not isinstance(value, TaskKind):
        kinds = ", ".join(f"TaskKind.{kind.name}" for kind in TaskKind)
        raise _fail(field, f"must be one of {kinds}, got {show(value)}")
    return value


def _one_of(value: object, choices: Collection[str]) -> bool:
    """A string among ``choices``; a list in their place is refused, not hashed."""
    return isinstance(value, str) and value in choices


def _weight(field: str, value: object) -> None:
    if value is None:
        return
    if not is_number(value) or (isinstance(value, float) and math.isnan(value)):
        raise _fail(field, f"must be a number from 0 to 1, got {show(value)}")
    if not 0 <= value <= 1:  # type: ignore[operator]
        raise _fail(field, f"must be within 0..1, got {show(value)}")


def _seconds(field: str, value: object) -> None:
    check_seconds(field, value)


# --- requests ---------------------------------------------------------------------------


@attrs.frozen
class GenerateRequest:
    """
    One ``POST /music/generate``: a new song, an extension or a cover (two songs each).

    ``description`` is inspiration mode (the service writes the lyrics); ``lyrics`` is
    custom mode. Exactly one of them, as the API requires; an instrumental in custom mode
    passes ``lyrics=""`` with its style ``tags``.
    """

    model: str
    title: str
    description: str | None = None
    lyrics: str | None = None
    tags: str | None = None
    negative_tags: str | None = None
    instrumental: bool = False
    vocal_gender: Literal["m", "f"] | None = None
    style_weight: float | None = None
    weirdness: float | None = None
    audio_weight: float | None = None
    continue_clip_id: str | None = None
    continue_at: float | None = None
    cover_clip_id: str | None = None

    @property
    def task(self) -> Literal["extend", "cover"] | None:
        if self.continue_clip_id is not None:
            return "extend"
        if self.cover_clip_id is not None:
            return "cover"
        return None

    def __attrs_post_init__(self) -> None:
        # Types first, so every later rule reads well-typed values.
        check_model("model", self.model, GENERATION_MODELS)
        check_text("title", self.title, optional=False, blank=False)
        for name in ("description", "lyrics", "tags", "negative_tags"):
            check_text(name, getattr(self, name))
        check_bool("instrumental", self.instrumental)
        if (self.description is None) == (self.lyrics is None):
            raise _fail(
                "description/lyrics",
                "give exactly one: description (inspiration mode) or lyrics (custom mode; "
                'lyrics="" with instrumental=True for no vocals)',
            )
        if self.description is not None and not self.description.strip():
            raise _fail("description", "must not be blank")
        if self.lyrics is not None and not self.instrumental and not self.lyrics.strip():
            raise _fail("lyrics", "must not be blank unless instrumental=True")
        if self.lyrics is not None and not self.tags:
            raise _fail("tags", "is required with lyrics (custom mode), e.g. 'pop, rock'")
        lyrics_max, tags_max, title_max = _LIMITS[model_family(self.model)]
        for name, limit in (
            ("title", title_max),
            ("lyrics", lyrics_max),
            ("tags", tags_max),
            ("negative_tags", tags_max),
            ("description", DESCRIPTION_MAX),
        ):
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise _fail(name, f"at most {limit} characters for this model, got {len(value)}")
        if self.vocal_gender is not None and not _one_of(self.vocal_gender, ("m", "f")):
            raise _fail("vocal_gender", f"must be 'm' or 'f', got {show(self.vocal_gender)}")
        _weight("style_weight", self.style_weight)
        _weight("weirdness", self.weirdness)
        _weight("audio_weight", self.audio_weight)
        if self.continue_clip_id is not None:
            object.__setattr__(
                self, "continue_clip_id", check_suno_id("clip_id", self.continue_clip_id)
            )
        if self.cover_clip_id is not None:
            object.__setattr__(self, "cover_clip_id", check_suno_id("clip_id", self.cover_clip_id))
        if self.continue_at is not None:
            _seconds("continue_at", self.continue_at)
        if self.continue_clip_id is not None and self.cover_clip_id is not None:
            raise _fail("task", "a request extends or covers, not both")
        if self.audio_weight is not None and self.task is None:
            raise _fail("audio_weight", "applies only to extend and cover")
        if self.continue_clip_id is not None and self.continue_at is None:
            raise _fail("continue_at", "is required to extend a clip")
        if self.continue_at is not None and self.continue_clip_id is None:
            raise _fail("continue_at", "only applies when extending a clip")


@attrs.frozen
class UploadRequest:
    """``POST /music/upload``: reference audio by URL, for later extend or cover."""

    audio_url: str

    def __attrs_post_init__(self) -> None:
        url: object = self.audio_url
        if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url):
            raise _fail("audio_url", f"must be an http(s) URL, got {show(url)}")
        check_text("audio_url", url, limit=URL_MAX)


@attrs.frozen
class WholeSongRequest:
    """``POST /music/whole-song``: stitch the extensions ending at ``clip_id`` into one song."""

    clip_id: str

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "clip_id", check_suno_id("clip_id", self.clip_id))


@attrs.frozen
class AlignedLyricsRequest:
    """``POST /music/aligned-lyrics``: word timestamps for a finished song."""

    suno_id: str
    lyrics: str

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "suno_id", check_suno_id("suno_id", self.suno_id))
        check_text("lyrics", self.lyrics, optional=False, blank=False, limit=ALIGN_LYRICS_MAX)


@attrs.frozen
class RemasterRequest:
    """``POST /music/upsample`` (two songs)."""

    clip_id: str
    model: str
    variation: Literal["subtle", "normal", "high"] | None = None

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "clip_id", check_suno_id("clip_id", self.clip_id))
        check_model("model", self.model, REMASTER_MODELS)
        if self.model in GENERATION_MODELS:
            raise _fail(
                "model",
                f"{self.model!r} is a generation model; remaster with one of "
                f"{', '.join(REMASTER_MODELS)}",
            )
        if self.variation is not None:
            if not _one_of(self.variation, VARIATIONS):
                raise _fail("variation", f"must be one of {VARIATIONS}, got {show(self.variation)}")
            if self.model in _NO_VARIATION:
                raise _fail(
                    "variation", "is only for V5 and newer models, not chirp-bass or chirp-up"
                )


@attrs.frozen
class _FinishedSongRequest:
    """A request about a finished song, named by both its task id and its Suno id."""

    task_id: int
    suno_id: str

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "task_id", check_task_id("task_id", self.task_id))
        object.__setattr__(self, "suno_id", check_suno_id("suno_id", self.suno_id))


@attrs.frozen
class VideoRequest(_FinishedSongRequest):
    """``POST /music/video``: a music video for a finished song task."""


@attrs.frozen
class ConvertWavRequest(_FinishedSongRequest):
    """``POST /music/convert-wav``: a WAV file for a finished song task."""


@attrs.frozen
class CropRequest:
    """``POST /music/crop``: keep ``start_s`` to ``end_s`` of a clip."""

    clip_id: str
    start_s: float
    end_s: float

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "clip_id", check_suno_id("clip_id", self.clip_id))
        _seconds("start_s", self.start_s)
        _seconds("end_s", self.end_s)
        if self.start_s >= self.end_s:
            raise _fail("start_s", f"must be before end_s ({self.start_s} >= {self.end_s})")


@attrs.frozen
class SpeedRequest:
    """``POST /music/speed``: a faster or slower copy of a clip."""

    clip_id: str
    multiplier: float
    keep_pitch: bool = False
    title: str | None = None

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "clip_id", check_suno_id("clip_id", self.clip_id))
        if not is_number(self.multiplier) or self.multiplier not in SPEED_MULTIPLIERS:
            allowed = ", ".join(f"{m:g}" for m in SPEED_MULTIPLIERS)
            raise _fail("multiplier", f"must be one of {allowed}, got {show(self.multiplier)}")
        check_bool("keep_pitch", self.keep_pitch)
        check_text("title", self.title, limit=_LIMITS["v5"][2])


# --- results ----------------------------------------------------------------------------


@attrs.frozen
class Balance:
    """Points left on the account (1 point = 0.01 CNY at the reseller's prices)."""

    remaining_points: int


@attrs.frozen
class FileInfo:
    """
    The media the service lists for a finished task.

    ``mp3_url`` is often an m4a file despite its name; links expire about an hour after the
    task finished (ask the task again for fresh ones). ``extra`` keeps the fields this
    version does not model (image sizes, file names).
    """

    mp3_url: str | None = None
    mp4_url: str | None = None
    cover_url: str | None = None
    wav_url: str | None = None
    m4a_url: str | None = None
    #: Seconds of audio, and the audio file's size in bytes, when the service says.
    duration: float | None = None
    size: int | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY, repr=False, eq=False)


@attrs.frozen
class Task:
    """
    One task as the task queries return it.

    ``extend`` is Suno's raw result, still encoded; read it as a typed result through a
    :class:`TaskHandle` (or ``AsyncSuno.result_of``) rather than by hand. ``extra`` keeps the
    fields this version does not know yet.
    """

    id: int
    status: TaskStatus
    custom_id: str | None = None
    file_info: FileInfo | None = None
    errormsg: str | None = None
    errormsg_en: str | None = None
    extend: str | None = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = attrs.field(default=EMPTY, repr=False, eq=False)


@attrs.frozen
class Song:
    """
    A finished clip: the entry of a task's ``extend`` whose id is the task's ``custom_id``.

    ``extra`` is the whole clip as Suno sent it (read-only), for the fields not typed here.
    """

    task_id: int
    id: str | None
    title: str | None = None
    audio_url: str | None = None
    video_url: str | None = None
    image_url: str | None = None
    image_large_url: str | None = None
    duration: float | None = None
    tags: str | None = None
    lyrics: str | None = None
    description: str | None = None
    model_name: str | None = None
    major_model_version: str | None = None
    created_at: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY, repr=False, eq=False)


@attrs.frozen
class AlignedWord:
    """One aligned word (or run of characters) with its times in seconds."""

    word: str
    start_s: float
    end_s: float
    success: bool = True
    p_align: float | None = None


@attrs.frozen
class LyricsAlignment:
    """Word timestamps for a song's lyrics."""

    task_id: int
    state: str | None
    words: tuple[AlignedWord, ...] = ()


@attrs.frozen
class Video:
    """A finished music video."""

    task_id: int
    url: str | None
    status: str | None = None


@attrs.frozen
class Wav:
    """A finished WAV conversion."""

    task_id: int
    url: str | None


@attrs.frozen
class StatusChange:
    """A task moved from one status to another, seen by the watcher's batch polls."""

    task_id: int
    old: TaskStatus | None
    new: TaskStatus


ResultT = TypeVar("ResultT", Song, LyricsAlignment, Video, Wav, Task)


@attrs.frozen
class TaskHandle(Generic[ResultT]):
    """
    A started task: its id, and what it will produce.

    Keep ``task_id`` (a plain int) and ``started_at`` to collect the result later, even
    from another process: ``suno.handle(task_id, TaskKind.SONG, started_at=...)`` rebuilds
    the handle, typed by its kind.
    """

    task_id: int
    kind: TaskKind
    _suno: Waiting | None = attrs.field(default=None, repr=False, eq=False, alias="suno")
    #: When the call that started it returned, as ``time.time()`` (a wall clock, so it means
    #: the same in another process); None for a saved id of unknown age, asked about at once.
    started_at: float | None = attrs.field(default=None, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "task_id", check_task_id("task_id", self.task_id))
        check_kind("kind", self.kind)
        if self.started_at is not None:
            check_seconds("started_at", self.started_at)
            if self.started_at > time.time() + _A_DAY:
                raise _fail(
                    "started_at",
                    f"is more than a day ahead of this clock, got {show(self.started_at)}: "
                    "pass a time.time() in seconds (not milliseconds)",
                )

    def status_changes(self) -> StatusChanges:
        """
        This task's status changes from this call on, ending after its final one::

            async with handle.status_changes() as changes:
                async for change in changes:
                    print(change.new.name)
            song = await handle.wait()  # the result, or the task's error

        The task is watched while the stream lasts, so no ``wait()`` is needed beside it.
        """
        if self._suno is None:
            raise _fail("handle", "has no session; rebuild it with suno.handle(task_id, kind)")
        return self._suno._task_status_changes(self)

    async def wait(self, *, timeout: float | None = None) -> ResultT:
        """Await the result through the session's watcher, batched with every other wait."""
        if self._suno is None:
            raise _fail(
                "handle",
                "has no session; use `await suno.wait([handle])` or rebuild it with "
                "suno.handle(task_id, kind)",
            )
        results = await self._suno.wait([self], timeout=timeout)
        return results[0]
