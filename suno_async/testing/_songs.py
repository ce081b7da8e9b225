"""Tasks as the fake server keeps them, and the rows and songs it makes of them.

A call's titles, lyrics and durations are decided once, from a random generator seeded by
the server's seed and the call's first task id, so a seeded server answers the same songs
however its rows are polled. Rows of finished tasks never change and are cached as text.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Final

import attrs

from . import _data
from ._rules import dumps

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LIVE_ROW_OFFSET", "SONG_KINDS", "Call", "FakeTask", "SongMaker", "TaskPlan"]

SONG_KINDS: Final = frozenset(
    {"generate", "upsample", "upload", "whole-song", "crop", "speed", "sound"}
)
#: Live rows number themselves apart from the task: row id = task id + this.
LIVE_ROW_OFFSET: Final = 2_423_051
_STATUS_WORDS: Final = {1: "pending", 2: "processing", 3: "completed", 4: "failed"}


@attrs.define
class TaskPlan:
    """A scripted timeline for the next created task, so tests need not depend on chance."""

    queued_s: float = 0.0
    generating_s: float = 0.0
    succeed: bool = True
    errormsg: str = _data.DEFAULT_FAILURE[0]
    errormsg_en: str = _data.DEFAULT_FAILURE[1]


@attrs.define(eq=False)
class Call:
    """One accepted POST; generate and upsample calls own two tasks and two clips."""

    kind: str
    params: dict[str, Any]
    created_wall: float
    task_ids: list[int] = attrs.Factory(list)
    clip_ids: list[str] = attrs.Factory(list)
    songs: list[dict[str, Any]] | None = None
    extend: str | None = None


@attrs.define(eq=False)
class FakeTask:
    """A task as the server sees it; its status is derived from the simulated clock on read."""

    id: int
    kind: str
    created_at: float
    started_at: float
    done_at: float
    succeed: bool
    errormsg: str | None
    errormsg_en: str | None
    custom_id: str | None
    mv: str | None
    created_mono: float = attrs.field(repr=False)
    created_text: str = attrs.field(repr=False)
    clock: Callable[[], float] = attrs.field(repr=False)
    call: Call = attrs.field(repr=False)
    finished_wall: float | None = attrs.field(default=None, repr=False)
    points_cost: int = attrs.field(default=0, repr=False)
    #: Whether the ledger has given back ``points_cost`` for this failed task.
    refunded: bool = attrs.field(default=False, repr=False)
    row_cache: str | None = attrs.field(default=None, repr=False)

    @property
    def status(self) -> int:
        return self.status_at(self.clock())

    @property
    def params(self) -> dict[str, Any]:
        return self.call.params

    def status_at(self, now: float) -> int:
        if now >= self.done_at:
            return 3 if self.succeed else 4
        return 2 if now >= self.started_at else 1


class SongMaker:
    """Serialises rows and makes songs for the tasks and clips the server has created."""

    def __init__(
        self,
        *,
        tasks: dict[int, FakeTask],
        clips: dict[str, tuple[Call, int]],
        seed_base: int,
        owner: dict[str, str],
        media_stem: Callable[[int], str],
        media_size: Callable[[str], int] = lambda name: 0,
    ) -> None:
        self._tasks = tasks
        self._clips = clips
        self._seed_base = seed_base
        self._owner = owner
        self._media_stem = media_stem
        self._media_size = media_size

    def row(self, task: FakeTask, now: float) -> str:
        """Serialise a row; terminal rows never change, so their text is cached."""
        if task.row_cache is not None:
            return task.row_cache
        status = task.status_at(now)
        task_id = task.id
        if status == 1:
            progress = "0%"
        elif status == 2:
            span = task.done_at - task.started_at
            progress = f"{min(99, int(100 * (now - task.started_at) / span)) if span > 0 else 99}%"
        else:
            progress = "100%"
        pending: str | None = "" if task_id % 2 == 0 else None
        row = {
            # Some rows carry numbers as strings, as the reference warns they may.
            "id": str(task_id) if task_id % 3 == 0 else task_id,
            "status": str(status) if task_id % 4 == 1 else status,
            "fileInfo": self._file_info(task) if status == 3 else None,
            "custom_id": task.custom_id,
            "extend": self._extend(task) if status == 3 else pending,
            "errormsg": task.errormsg if status == 4 else None,
            "errormsgEn": task.errormsg_en if status == 4 else None,
            "created_at": task.created_text,
            "mv": task.mv,
            "type": task.kind,
            "progress": progress,
        }
        text = dumps(row)
        if status >= 3:
            task.row_cache = text
        return text

    def live_row(self, task: FakeTask, now: float) -> str:
        """
        Serialise a row as the live service does: the status a word outside, the outputs
        under ``result``, a row id of the platform's own, and a clip list of this task only.
        """
        if task.row_cache is not None:
            return task.row_cache
        status = task.status_at(now)
        error = task.errormsg if status == 4 else None
        result = {
            "id": task.id,
            "status": status,
            "custom_id": task.custom_id,
            "errormsg": error,
            "fileInfo": self._live_file_info(task) if status == 3 else None,
            "extend": self._live_extend(task) if status == 3 else None,
        }
        row = {
            "id": task.id + LIVE_ROW_OFFSET,
            "task_id": str(task.id),
            "status": _STATUS_WORDS[status],
            "error": error,
            "points_cost": task.points_cost,
            "points_refunded": status == 4,
            "created_at": task.created_text,
            "result": result,
        }
        text = dumps(row)
        if status >= 3:
            task.row_cache = text
        return text

    def _live_file_info(self, task: FakeTask) -> dict[str, Any] | None:
        stem = self._media_stem(task.id)
        info: dict[str, Any] = {"width": 1024, "height": 1024, "mp4Url": "", "mp3Url": ""}
        if task.kind in SONG_KINDS:
            index = task.call.task_ids.index(task.id)
            info["duration"] = self._songs(task.call)[index]["duration"]
            info["size"] = self._media_size(f"{task.id}.m4a")
            info["mp3Url"] = f"{stem}.m4a"
        elif task.kind == "video":
            info["size"] = self._media_size(f"{task.id}.mp4")
            info["mp4Url"] = f"{stem}.mp4"
        elif task.kind == "convert-wav":
            info["size"] = self._media_size(f"{task.id}.wav")
            info["wavUrl"] = f"{stem}.wav"
        else:
            return None
        info["cosUrl"] = info["bigUrl"] = f"{stem}_large.png"
        info["thumbImg"] = f"{stem}.png?imageView2/2/w/1200"
        info["filename"] = str(int(task.created_mono * 1000))
        return info

    def _live_extend(self, task: FakeTask) -> str:
        """
        This task's clip alone; a ``call.extend`` a test set (the live server never sets
        one) is sent as it is, so a broken extend can be injected in either dialect.
        """
        if task.kind not in SONG_KINDS:
            return self._extend(task)
        call = task.call
        if call.extend is not None:
            return call.extend
        index = call.task_ids.index(task.id)
        clip = _data.clip(
            clip_id=call.clip_ids[index],
            media=self._media_stem(task.id),
            owner=self._owner,
            created_wall=call.created_wall,
            song=self._songs(call)[index],
            complete=task.succeed,
        )
        clip["audio_url"] = clip["audio_url"].rpartition(".")[0] + ".m4a"
        clip["video_url"] = ""
        return dumps([clip])

    def _file_info(self, task: FakeTask) -> dict[str, str | None] | None:
        stem = self._media_stem(task.id)
        if task.kind in SONG_KINDS:
            return {"mp3Url": f"{stem}.mp3", "mp4Url": f"{stem}.mp4", "coverUrl": f"{stem}.png"}
        if task.kind == "video":
            return {"mp3Url": None, "mp4Url": f"{stem}.mp4", "coverUrl": None}
        return None

    def _extend(self, task: FakeTask) -> str:
        call = task.call
        if task.kind == "aligned-lyrics":
            rng = random.Random(f"{self._seed_base}:{task.id}")
            return dumps(_data.alignment(str(call.params["lyrics"]), rng))
        if task.kind == "video":
            video_url = f"{self._media_stem(task.id)}.mp4"
            return dumps({"status": "complete", "video_url": video_url})
        if task.kind == "convert-wav":
            return dumps({"wav_file_url": f"{self._media_stem(task.id)}.wav"})
        if call.extend is None:
            songs = self._songs(call)
            clips = [
                _data.clip(
                    clip_id=clip_id,
                    media=self._media_stem(task_id),
                    owner=self._owner,
                    created_wall=call.created_wall,
                    song=song,
                    complete=self._tasks[task_id].succeed,
                )
                for clip_id, task_id, song in zip(call.clip_ids, call.task_ids, songs, strict=True)
            ]
            call.extend = dumps(clips)
        return call.extend

    def _song_of(self, clip_id: str) -> dict[str, Any]:
        call, index = self._clips[clip_id]
        return self._songs(call)[index]

    def _songs(self, call: Call) -> list[dict[str, Any]]:
        """Decide titles, lyrics and durations once per call, seeded by its first task id."""
        if call.songs is None:
            rng = random.Random(f"{self._seed_base}:{call.task_ids[0]}")
            call.songs = self._make_songs(call, rng)
        return call.songs

    def _make_songs(self, call: Call, rng: random.Random) -> list[dict[str, Any]]:
        params = call.params
        kind = call.kind
        if kind == "generate":
            return self._generated_songs(params, rng)
        if kind == "sound":
            return [self._sound(params, rng) for _ in range(2)]
        if kind == "upload":
            name = str(params["audio_url"]).rstrip("/").rpartition("/")[2].rpartition(".")[0]
            song = {
                "title": name or "Uploaded audio",
                "tags": "",
                "prompt": "",
                "model_name": "chirp-v4",
                "type": "upload",
                "duration": round(rng.uniform(30, 180), 2),
            }
            return [song]
        source = self._song_of(str(params["clip_id"]))
        base = {**source, "history": None, "extra_metadata": {}}
        if kind == "upsample":
            extra = {"upsample_clip_id": params["clip_id"]}
            if params["variation_category"] is not None:
                extra["variation_category"] = params["variation_category"]
            song = {**base, "model_name": params["model_name"], "type": "upsample"}
            song["extra_metadata"] = extra
            return [song, dict(song)]
        if kind == "whole-song":
            history = source.get("history") or [{}]
            offset = float(history[0].get("continue_at", 0.0))
            duration = round(offset + float(source["duration"]), 2)
            song = {**base, "type": "concat", "duration": duration}
            song["extra_metadata"] = {"concat_clip_id": params["clip_id"]}
            return [song]
        if kind == "crop":
            duration = round(params["crop_end_s"] - params["crop_start_s"], 2)
            song = {**base, "type": "edit_crop", "duration": duration}
            song["extra_metadata"] = {
                "edited_clip_id": params["clip_id"],
                "crop_start_s": params["crop_start_s"],
                "crop_end_s": params["crop_end_s"],
            }
            return [song]
        duration = round(float(source["duration"]) / params["speed_multiplier"], 2)
        song = {**base, "type": "edit_speed", "duration": duration}
        song["title"] = params["title"] or source["title"]
        song["extra_metadata"] = {
            "edited_clip_id": params["clip_id"],
            "speed_multiplier": params["speed_multiplier"],
            "keep_pitch": params["keep_pitch"],
        }
        return [song]

    @staticmethod
    def _sound(params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A sound effect, or a loop of four bars of four beats when a tempo sets its length."""
        tempo = params["tempo"]
        if params["loop"] and tempo:
            duration = round(16 * 60 / tempo, 2)
        else:
            duration = round(rng.uniform(2.0, 30.0), 2)
        return {
            "title": params["title"],
            "tags": params["tags"],
            "prompt": "",
            "make_instrumental": True,
            "model_name": params["mv"],
            "type": "sound",
            "history": None,
            "duration": duration,
            "extra_metadata": {
                "tempo": tempo,
                "key": params["key"],
                "loop": params["loop"],
            },
        }

    def _generated_songs(self, params: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
        inherited: dict[str, Any] = {}
        history = None
        extra: dict[str, Any] = {}
        song_type = "gen"
        if params["task"] == "extend":
            inherited = self._song_of(params["continue_clip_id"])
            history = [
                {
                    "id": params["continue_clip_id"],
                    "continue_at": params["continue_at"],
                    "type": "gen",
                    "source": "web",
                    "infill": False,
                }
            ]
        elif params["task"] == "cover":
            inherited = self._song_of(params["cover_clip_id"])
            song_type = "cover"
            extra["cover_clip_id"] = params["cover_clip_id"]
        if params["metadata"]:
            extra["control_sliders"] = params["metadata"].get("control_sliders")
        if "prompt" in params:
            lyrics = params["prompt"]
        elif params["make_instrumental"]:
            lyrics = ""
        else:
            lyrics = inherited.get("prompt") or _data.random_lyrics(rng)
        base = {
            "title": params["title"] or inherited.get("title") or _data.random_title(rng),
            "tags": params["tags"] or inherited.get("tags") or _data.random_tags(rng),
            "negative_tags": params["negative_tags"],
            "prompt": lyrics,
            "gpt_description_prompt": params.get("gpt_description_prompt"),
            "make_instrumental": params["make_instrumental"],
            "model_name": params["mv"],
            "type": song_type,
            "history": history,
            "extra_metadata": extra,
        }
        return [{**base, "duration": round(rng.uniform(95, 240), 2)} for _ in range(2)]
