"""Plausible Suno clip payloads, so clients decode something shaped like the real thing."""

# The Chinese messages use full-width punctuation on purpose, as the real service does.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import random

__all__ = [
    "DEFAULT_FAILURE",
    "FAILURES",
    "alignment",
    "clip",
    "iso",
    "major_version",
    "random_lyrics",
    "random_tags",
    "random_title",
    "suno_id",
]

_TITLES = (
    "夏夜的风",
    "城市霓虹",
    "Midnight Drive",
    "星河入梦",
    "Paper Planes",
    "雨后的街角",
    "Golden Hour",
    "海边的信",
    "Neon Heartbeat",
    "远方的歌",
)
_TAGS = (
    "pop, upbeat, female vocals",
    "rock, electric guitar, energetic",
    "lofi, chill, piano",
    "mandopop, ballad, emotional",
    "edm, synthwave, driving",
    "folk, acoustic, warm",
    "r&b, smooth, male vocals",
    "indie, dreamy, reverb",
)
_LINES = (
    "最近的风吹过我的窗",
    "霓虹闪烁在雨夜的街上",
    "我们追着光一路歌唱",
    "把思念写进星空的方向",
    "City lights are calling out my name",
    "We were dancing in the summer rain",
    "Hold on to the night, it's all we have",
    "Every heartbeat sounds like coming home",
)
_SECTIONS = ("[Verse]", "[Chorus]", "[Verse 2]", "[Bridge]", "[Outro]")

DEFAULT_FAILURE: Final = ("生成失败：内容违规", "Generation failed: content policy violation")
FAILURES: Final = (
    DEFAULT_FAILURE,
    ("生成失败：上游服务超时", "Generation failed: upstream timeout"),
    (
        "生成失败：歌词包含受版权保护的内容",
        "Generation failed: lyrics contain copyrighted material",
    ),
)

_TOKEN = re.compile(r"\[[^\]\n]*\]|[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*|[^\W_A-Za-z0-9]")


def suno_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso(wall: float) -> str:
    moment = dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def major_version(model_name: str) -> str:
    """Map model names to Suno's ``major_model_version``, including the remaster models."""
    name = model_name.lower()
    if name in {"chirp-hawk", "chirp-hawk-wild", "chirp-goose", "chirp-halibut"}:
        return "v6"
    if name in {"chirp-fenix", "chirp-flounder"}:
        return "v5.5"
    if "v5" in name or name in {"chirp-crow", "chirp-carp"}:
        return "v5"
    if "v4-5" in name or "v4.5" in name or name in {"chirp-bass", "chirp-auk", "chirp-bluejay"}:
        return "v4.5"
    if "v3" in name:
        return "v3"
    return "v4"


def random_title(rng: random.Random) -> str:
    return rng.choice(_TITLES)


def random_tags(rng: random.Random) -> str:
    return rng.choice(_TAGS)


def random_lyrics(rng: random.Random) -> str:
    parts = ["[Intro]", ""]
    chosen = set(rng.sample(range(len(_SECTIONS)), 3))
    for section in (name for index, name in enumerate(_SECTIONS) if index in chosen):
        parts.append(section)
        parts.extend(rng.sample(_LINES, 2))
        parts.append("")
    return "\n".join(parts).strip()


def clip(
    *,
    clip_id: str,
    media: str,
    owner: dict[str, str],
    created_wall: float,
    song: dict[str, Any],
    complete: bool,
) -> dict[str, Any]:
    """Build one clip; ``media`` is the URL stem (no suffix) the server will answer for."""
    model_name = str(song["model_name"])
    metadata: dict[str, Any] = {
        "tags": song["tags"],
        "negative_tags": song.get("negative_tags"),
        "prompt": song["prompt"],
        "gpt_description_prompt": song.get("gpt_description_prompt"),
        "audio_prompt_id": None,
        "history": song.get("history"),
        "concat_history": None,
        "type": song["type"],
        "duration": song["duration"],
        "refund_credits": False,
        "stream": True,
        "make_instrumental": song.get("make_instrumental", False),
        "error_type": None if complete else "content_policy",
        "error_message": None if complete else "Generation failed",
    }
    metadata.update(song.get("extra_metadata", {}))
    return {
        "id": clip_id,
        "video_url": f"{media}.mp4",
        "audio_url": f"{media}.mp3",
        "image_url": f"{media}.png",
        "image_large_url": f"{media}_large.png",
        "is_video_pending": False,
        "major_model_version": major_version(model_name),
        "model_name": model_name,
        "metadata": metadata,
        "is_liked": False,
        "user_id": owner["user_id"],
        "display_name": owner["display_name"],
        "handle": owner["handle"],
        "is_handle_updated": False,
        "avatar_image_url": owner["avatar_image_url"],
        "is_trashed": False,
        "reaction": None,
        "created_at": iso(created_wall),
        "status": "complete" if complete else "error",
        "title": song["title"],
        "play_count": 0,
        "upvote_count": 0,
        "is_public": False,
    }


def alignment(lyrics: str, rng: random.Random) -> dict[str, Any]:
    """Time-stamp each sung token; section tags and line breaks ride on the next token."""
    words: list[dict[str, Any]] = []
    pending = ""
    at = round(rng.uniform(0.3, 1.2), 3)
    last = 0
    for match in _TOKEN.finditer(lyrics):
        text = match.group()
        gap = lyrics[last : match.start()]
        last = match.end()
        if text.startswith("["):
            pending += gap + text
            continue
        pending += gap
        if "\n" in pending and words:
            at = round(at + rng.uniform(0.2, 0.8), 3)
        end = round(at + rng.uniform(0.08, 0.45), 3)
        words.append(
            {
                "word": pending + text,
                "success": True,
                "start_s": at,
                "end_s": end,
                "p_align": rng.choice((1, 1, 1, 0.98, 0.93)),
            }
        )
        pending = ""
        at = end
    tail = pending + lyrics[last:]
    if tail and words:
        words[-1]["word"] += tail
    return {"state": "complete", "alignment": words}
