"""The reference's rules for request bodies, and the error envelope they produce.

Each helper reads one field the way the reference describes it (strings, numbers that may
arrive as strings, booleans, the metadata object) and raises ``ApiError`` with the
bilingual ``参数错误`` message the real service answers with, so handlers stay short.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

__all__ = [
    "NOT_FOUND_CLIP",
    "NOT_FOUND_TASK",
    "PRICES",
    "SPEEDS",
    "UPSAMPLE_MODELS",
    "VARIATIONS",
    "ApiError",
    "bad",
    "dumps",
    "flag",
    "integer",
    "is_v5",
    "json_object",
    "maybe_text",
    "metadata",
    "number",
    "required",
    "text",
]

UPSAMPLE_MODELS: Final = frozenset({"chirp-carp", "chirp-bass", "chirp-up"})
VARIATIONS: Final = frozenset({"subtle", "normal", "high"})
SPEEDS: Final = frozenset({0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0})
PRICES: Final = {"generate": 36, "upsample": 36}
NOT_FOUND_TASK: Final = "任务不存在 (task not found)"
NOT_FOUND_CLIP: Final = "clip not found"


class ApiError(Exception):
    """A refusal the server answers inside the envelope, with the reference's code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
