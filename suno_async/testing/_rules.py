"""The reference's rules for request bodies, and the error envelope they produce.

Each helper reads one field the way the reference describes it (strings, numbers that may
arrive as strings, booleans, the metadata object) and raises ``ApiError`` with the
bilingual ``参数错误`` message the real service answers with, so handlers stay short.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "NOT_FOUND_CLIP",
    "NOT_FOUND_TASK",
    "PRICES",
    "SOUND_MODELS",
    "SPEEDS",
    "UPSAMPLE_MODELS",
    "VARIATIONS",
    "ApiError",
    "bad",
    "crop_params",
    "dumps",
    "flag",
    "generate_params",
    "integer",
    "is_v5",
    "json_object",
    "maybe_text",
    "metadata",
    "number",
    "required",
    "sound_params",
    "speed_params",
    "text",
    "upload_params",
    "upsample_params",
]

UPSAMPLE_MODELS: Final = frozenset(
    {"chirp-halibut", "chirp-flounder", "chirp-carp", "chirp-bass", "chirp-up"}
)
#: Remaster models older than V5: no variation_category.
_NO_VARIATION: Final = frozenset({"chirp-bass", "chirp-up"})
VARIATIONS: Final = frozenset({"subtle", "normal", "high"})
SPEEDS: Final = frozenset({0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0})
#: A sound's price is not published: it is priced here as the generation it is on Suno's
#: side (two clips, 36 points), the higher of the guesses, so a budget is never short.
PRICES: Final = {"generate": 36, "upsample": 36, "sound": 36}
#: The models the guide names for sounds.
SOUND_MODELS: Final = frozenset({"chirp-crow", "chirp-fenix"})
NOT_FOUND_TASK: Final = "任务不存在 (task not found)"
NOT_FOUND_CLIP: Final = "clip not found"


class ApiError(Exception):
    """A refusal the server answers inside the envelope, with the reference's code."""

    def __init__(self, code: int, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def bad(field: str, zh: str, en: str) -> ApiError:
    return ApiError(400, f"参数错误: {field} {zh} ({field} {en})")


def required(field: str) -> ApiError:
    return bad(field, "不能为空", "is required")


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text(body: dict[str, Any], field: str, *, limit: int | None = None, empty: bool = False) -> str:
    value = body.get(field)
    if value is None or (value == "" and not empty):
        raise required(field)
    if not isinstance(value, str):
        raise bad(field, "必须是字符串", "must be a string")
    if limit is not None and len(value) > limit:
        raise bad(field, f"长度不能超过 {limit}", f"must be at most {limit} characters")
    return value


def maybe_text(body: dict[str, Any], field: str, *, limit: int | None = None) -> str | None:
    if body.get(field) in (None, ""):
        return None
    return text(body, field, limit=limit)


def number(body: dict[str, Any], field: str) -> float:
    value = body.get(field)
    if value is None or value == "":
        raise required(field)
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise bad(field, "必须是数字", "must be a number")
    return number


def integer(value: object, field: str) -> int:
    if value is None or value == "":
        raise required(field)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise bad(field, "必须是整数", "must be an integer")


def flag(body: dict[str, Any], field: str) -> bool:
    value = body.get(field)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad(field, "必须是布尔值", "must be a boolean")


def _unit_interval(container: dict[str, Any], field: str) -> None:
    if container.get(field) is None:
        return
    if not 0.0 <= number(container, field) <= 1.0:
        raise bad(field, "必须在 0 到 1 之间", "must be between 0 and 1")


def metadata(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad("metadata", "必须是对象", "must be an object")
    gender = value.get("vocal_gender")
    if gender is not None and gender not in ("m", "f"):
        raise bad("vocal_gender", "只能是 m 或 f", "must be 'm' or 'f'")
    sliders = value.get("control_sliders")
    if sliders is not None:
        if not isinstance(sliders, dict):
            raise bad("control_sliders", "必须是对象", "must be an object")
        _unit_interval(sliders, "style_weight")
        _unit_interval(sliders, "weirdness_constraint")
    _unit_interval(value, "audio_weight")
    return value


_V4_OR_OLDER = re.compile(r"v(?:[1-3]|4(?![.\-_]?5))(?!\d)", re.IGNORECASE)


def is_v5(mv: str) -> bool:
    """The reference gives V4 and V5 limits only: names that plainly say v4 or older get V4."""
    return _V4_OR_OLDER.search(mv) is None


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body as the reference requires it: a non-empty JSON object."""
    if not raw.strip():
        raise bad("body", "不能为空", "is required")
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad("body", "不是合法的 JSON", "is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad("body", "必须是 JSON 对象", "must be a JSON object")
    return body


# -- the paid endpoints' bodies -----------------------------------------------------


def generate_params(
    body: dict[str, Any], clip_id: Callable[[dict[str, Any], str], str]
) -> dict[str, Any]:
    """A generation's parameters; ``clip_id`` resolves the clip an extension or cover names."""
    mv = text(body, "mv")
    prompt_limit, tags_limit, title_limit = (5000, 1000, 100) if is_v5(mv) else (3000, 200, 80)
    has_description = body.get("gpt_description_prompt") is not None
    has_prompt = body.get("prompt") is not None
    if has_description and has_prompt:
        raise bad(
            "gpt_description_prompt",
            "与 prompt 只能二选一",
            "and prompt are mutually exclusive",
        )
    if not has_description and not has_prompt:
        raise bad(
            "prompt",
            "或 gpt_description_prompt 必须提供一个",
            "or gpt_description_prompt is required",
        )
    instrumental = flag(body, "make_instrumental")
    params: dict[str, Any] = {"mv": mv, "make_instrumental": instrumental}
    if has_prompt:
        params["prompt"] = text(body, "prompt", limit=prompt_limit, empty=instrumental)
        params["tags"] = text(body, "tags", limit=tags_limit)
        params["title"] = text(body, "title", limit=title_limit)
    else:
        params["gpt_description_prompt"] = text(body, "gpt_description_prompt")
        params["tags"] = maybe_text(body, "tags", limit=tags_limit)
        params["title"] = maybe_text(body, "title", limit=title_limit)
    params["negative_tags"] = maybe_text(body, "negative_tags", limit=tags_limit)
    mode = body.get("task") or None
    if mode == "extend":
        params["continue_clip_id"] = clip_id(body, "continue_clip_id")
        params["continue_at"] = number(body, "continue_at")
        if params["continue_at"] < 0:
            raise bad("continue_at", "不能为负数", "must not be negative")
    elif mode == "cover":
        params["cover_clip_id"] = clip_id(body, "cover_clip_id")
    elif mode is not None:
        raise bad("task", "只能是 extend 或 cover", "must be 'extend' or 'cover'")
    params["task"] = mode
    params["metadata"] = metadata(body.get("metadata"))
    return params


def upload_params(body: dict[str, Any]) -> dict[str, Any]:
    url = text(body, "audio_url")
    if not url.startswith(("http://", "https://")):
        raise bad("audio_url", "必须是 http(s) 链接", "must be an http(s) URL")
    return {"audio_url": url}


def upsample_params(body: dict[str, Any], clip_id: str) -> dict[str, Any]:
    model = text(body, "model_name")
    if model not in UPSAMPLE_MODELS:
        raise bad("model_name", "只能是 " + "、".join(sorted(UPSAMPLE_MODELS)), "is not supported")
    variation = maybe_text(body, "variation_category")
    if variation is not None and variation not in VARIATIONS:
        raise bad("variation_category", "只能是 subtle、normal 或 high", "is not supported")
    if variation is not None and model in _NO_VARIATION:
        raise bad("variation_category", "仅适用于 v5 及更新的模型", "is for v5 and newer only")
    return {"clip_id": clip_id, "model_name": model, "variation_category": variation}


def crop_params(body: dict[str, Any], clip_id: str) -> dict[str, Any]:
    start = number(body, "crop_start_s")
    end = number(body, "crop_end_s")
    if not 0 <= start < end:
        raise bad(
            "crop_start_s",
            "必须满足 0 <= crop_start_s < crop_end_s",
            "must be >= 0 and < crop_end_s",
        )
    return {"clip_id": clip_id, "crop_start_s": start, "crop_end_s": end}


def speed_params(body: dict[str, Any], clip_id: str) -> dict[str, Any]:
    multiplier = number(body, "speed_multiplier")
    if multiplier not in SPEEDS:
        raise bad("speed_multiplier", "只能是 0.25/0.5/0.75/1/1.25/1.5/2", "is not supported")
    return {
        "clip_id": clip_id,
        "speed_multiplier": multiplier,
        "keep_pitch": flag(body, "keep_pitch"),
        "title": maybe_text(body, "title"),
    }


def sound_params(body: dict[str, Any]) -> dict[str, Any]:
    """A sound's parameters: a V5 model of the two named, an optional whole tempo and key."""
    mv = text(body, "mv")
    if mv not in SOUND_MODELS:
        raise bad("mv", "只能是 chirp-crow 或 chirp-fenix", "must be chirp-crow or chirp-fenix")
    tempo: int | None = None
    if body.get("tempo") is not None:
        tempo = integer(body["tempo"], "tempo")
        if not 0 < tempo <= 300:
            raise bad("tempo", "必须在 1 到 300 之间", "must be from 1 to 300")
    return {
        "mv": mv,
        "title": text(body, "title", limit=100),
        "tags": text(body, "tags", limit=1000),
        "tempo": tempo,
        "key": maybe_text(body, "key", limit=20),
        "loop": flag(body, "loop"),
    }
