"""
Argument checks shared by requests, calls and policies; each names the field and the rule.

A call's bad argument fails with :class:`ValidationError` (nothing was sent); a session's or
a policy's bad setting fails with :class:`ConfigurationError`, whose message starts with the
setting's name (``"PollPolicy.batch_size: ..."``). Python's own numbers are strict here: a
bool is not a number, a float is not a count, NaN is never a valid amount, and a Decimal is
refused rather than failing later at JSON encoding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from ._errors import ConfigurationError, SunoError, ValidationError

__all__ = [
    "MAX_TASK_ID",
    "check_bool",
    "check_count",
    "check_seconds",
    "check_text",
    "invalid",
    "is_number",
    "misconfigured",
    "show",
]

#: Task ids are the service's 64-bit integers; anything larger was never one.
MAX_TASK_ID: Final = 2**63 - 1

Error = Callable[[str, str], SunoError]


def invalid(field: str, rule: str) -> SunoError:
    """A call's argument broke a rule."""
    return ValidationError(field, rule)


def misconfigured(field: str, rule: str) -> SunoError:
    """A session's or a policy's setting broke a rule."""
    return ConfigurationError(f"{field}: {rule}")


def show(value: object) -> str:
    """A value for an error message: its repr, cut short, so a 5 MB string stays out of logs."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is shown by its type
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else f"{text[:60]}... ({type(value).__name__})"


def is_number(value: object) -> bool:
    """An int or a float, and not a bool (True is an int to Python, never a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_count(
    field: str,
    value: object,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    error: Error = invalid,
) -> int:
    """A whole number within bounds; 1.5 or True is refused, not rounded."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(field, f"must be a whole number, got {show(value)}")
    if value < minimum:
        raise error(field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise error(field, f"is at most {maximum}, got {value}")
    return value


def _finite(value: object) -> bool:
    """A finite number; an int too large for a float is not one."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except OverflowError:
        return False


def check_seconds(
    field: str,
    value: object,
    *,
    positive: bool = False,
    optional: bool = False,
    error: Error = invalid,
) -> float | None:
    """A finite number of seconds, at least 0 (above 0 when ``positive``); None if ``optional``."""
    if value is None and optional:
        return None
    if not is_number(value) or not _finite(value):
        also = "; None means no limit" if optional else ""
        raise error(field, f"must be a finite number of seconds{also}, got {show(value)}")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds < 0 or (positive and seconds == 0):
        raise error(field, f"must be {'above' if positive else 'at least'} 0, got {value}")
    return seconds


def check_bool(field: str, value: object, *, error: Error = invalid) -> bool:
    """True or False: a string "no" would otherwise count as true."""
    if not isinstance(value, bool):
        raise error(field, f"must be True or False, got {show(value)}")
    return value


def check_text(
    field: str,
    value: object,
    *,
    limit: int | None = None,
    optional: bool = True,
    blank: bool = True,
    error: Error = invalid,
) -> str | None:
    """
    A string (None when ``optional``) of at most ``limit`` characters that JSON can carry.

    A lone surrogate (from a badly decoded file) is not valid UTF-8: refused here rather
    than failing in the encoder or garbling the song's text on the service.
    """
    if value is None:
        if optional:
            return None
        raise error(field, "is required")
    if not isinstance(value, str):
        raise error(field, f"must be a string, got {type(value).__name__}")
    if not blank and not value.strip():
        raise error(field, "is required and must not be blank")
    if limit is not None and len(value) > limit:
        raise error(field, f"at most {limit} characters, got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(field, f"is not valid text: a lone surrogate at position {exc.start}") from None
    return value
