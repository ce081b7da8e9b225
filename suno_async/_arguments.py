"""
The arguments of AsyncSuno's constructor and of its waits, checked before anything is built
or sent: each bad one is named, with the rule it broke.
"""

from __future__ import annotations

import math
import ssl as _ssl
from collections.abc import Iterable, Mapping
from typing import Any, Final

import aiohttp

from ._checks import check_bool, check_count, check_seconds, is_number, misconfigured, show
from ._config import RateLimit
from ._download import DownloadPolicy
from ._errors import ValidationError
from ._models import TaskHandle, check_task_id
from ._transport import RetryPolicy, Secret, Timeouts
from ._watcher import PollPolicy

__all__ = [
    "check_key",
    "check_settings",
    "check_timeout",
    "check_transport_settings",
    "items_of",
    "task_ids_of",
]

_EXAMPLE_URL: Final = "https://open.suno.cn/api/v1"


def check_key(field: str, key: object) -> None:
    """A key is text that fits in an HTTP header: bytes or a pasted newline would fail later."""
    # The key is read through its Secret only, so this frame's locals never show it.
    secret = key if isinstance(key, Secret) else Secret(key)
    del key
    if not isinstance(secret.reveal(), str):
        raise misconfigured(field, f"must be a string, got {type(secret.reveal()).__name__}")
    if not all(" " <= char <= "~" for char in str(secret.reveal()).strip()):
        raise misconfigured(
            field, "must be printable ASCII with no line breaks (check what was pasted)"
        )


def check_settings(
    *,
    api_key: object,
    base_url: object,
    session: object,
    timeouts: object,
    retry: object,
    poll: object,
    allow_insecure_http: object,
    on_status_change: object,
    downloads: object = None,
) -> None:
    """Each setting of :class:`AsyncSuno` of the right type, before anything is built."""
    if api_key is not None:
        check_key("api_key", api_key)
    if base_url is not None and not isinstance(base_url, str):
        raise misconfigured(
            "base_url", f"must be a string such as {_EXAMPLE_URL!r}, got {show(base_url)}"
        )
    if session is not None:
        if not isinstance(session, aiohttp.ClientSession):
            raise misconfigured(
                "session", f"must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if session.closed:
            raise misconfigured("session", "is closed; pass an open aiohttp.ClientSession")
    for name, value, cls in (
        ("timeouts", timeouts, Timeouts),
        ("retry", retry, RetryPolicy),
        ("poll", poll, PollPolicy),
        ("downloads", downloads, DownloadPolicy),
    ):
        if value is not None and not isinstance(value, cls):
            raise misconfigured(
                name, f"must be a {cls.__name__}(...) or None, got {type(value).__name__}"
            )
    check_bool("allow_insecure_http", allow_insecure_http, error=misconfigured)
    if on_status_change is not None and not callable(on_status_change):
        raise misconfigured(
            "on_status_change",
            f"must be a function taking a StatusChange, got {type(on_status_change).__name__}",
        )


def check_transport_settings(
    *,
    ssl: object,
    max_response_bytes: object,
    max_paid_in_flight: object,
    paid_rate: object,
    trust_env: object = True,
    rate_limit: object = None,
) -> None:
    """The transport's own settings of :class:`AsyncSuno`, before anything is built."""
    if not isinstance(trust_env, bool):
        raise misconfigured("trust_env", f"must be True or False, got {show(trust_env)}")
    if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
        raise misconfigured("ssl", f"must be an ssl.SSLContext or None, got {show(ssl)}")
    check_count("max_response_bytes", max_response_bytes, minimum=1024, error=misconfigured)
    check_count("max_paid_in_flight", max_paid_in_flight, error=misconfigured)
    if paid_rate is not None and (
        not is_number(paid_rate) or not 0 < paid_rate < math.inf  # type: ignore[operator]
    ):
        raise misconfigured(
            "paid_rate", f"must be a positive number of calls per second, got {show(paid_rate)}"
        )
    if rate_limit is not None and not isinstance(rate_limit, RateLimit):
        raise misconfigured(
            "rate_limit",
            "must be a RateLimit (e.g. RateLimit(per_minute=100)) or None for no budget, "
            f"got {show(rate_limit)}",
        )


def items_of(field: str, items: object) -> list[Any]:
    """A list (or any collection) of items; one item alone, or a string, is refused."""
    if isinstance(items, (TaskHandle, int, str, bytes, bytearray)) or items is None:
        raise ValidationError(
            field,
            f"pass a list of handles or task ids, e.g. suno.wait([handle]), got {show(items)}",
        )
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise ValidationError(field, f"must be a list, got {type(items).__name__}")
    return list(items)


def task_ids_of(field: str, ids: object) -> list[int]:
    """Task ids from a list; "199824" alone would otherwise be read digit by digit."""
    items = items_of(field, ids)
    return [check_task_id(f"{field}[{index}]", item) for index, item in enumerate(items)]


def check_timeout(timeout: object) -> float | None:
    """None or seconds from 0; infinity waits forever, like None; NaN is refused."""
    if timeout is None or (is_number(timeout) and timeout == math.inf):
        return None
    return check_seconds("timeout", timeout)
