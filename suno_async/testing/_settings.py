"""
The fake server's own settings, checked when it is made: a rate outside 0..1, a negative
time or a fault that is not a ``Fault`` would otherwise surface mid-request, as a traceback
in the server and a bare 500 in the client under test.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._faults import Fault

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["check_settings", "one_of"]


def one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        msg = f"{name} must be one of {choices}, got {value!r}"
        raise ValueError(msg)


def check_settings(
    *,
    max_page_size: object,
    speed: object,
    latency: object,
    paid_latency: object,
    failure_rate: object,
    error_rate: object,
    queued_s: object,
    generating_s: object,
    points: object,
    port: object,
    faults: Sequence[object],
) -> None:
    """Refuse a setting the server could only fail on later, mid-request, with its own bug."""
    if not _whole(max_page_size, low=1):
        msg = f"max_page_size must be at least 1, got {max_page_size!r}"
        raise ValueError(msg)
    for name, value in (("speed", speed), ("latency", latency), ("paid_latency", paid_latency)):
        _at_least_zero(name, value)
    for name, value in (("failure_rate", failure_rate), ("error_rate", error_rate)):
        _at_least_zero(name, value, at_most=1.0)
    _span("queued_s", queued_s)
    _span("generating_s", generating_s)
    if not _whole(points, low=0):
        msg = f"points must be a whole number at least 0, got {points!r}"
        raise ValueError(msg)
    if not _whole(port, low=0, high=65_535):
        msg = f"port must be from 0 (a free one) to 65535, got {port!r}"
        raise ValueError(msg)
    for fault in faults:
        if not isinstance(fault, Fault):
            msg = f"faults must be Fault objects, e.g. Fault('500'), got {fault!r}"
            raise TypeError(msg)


def _whole(value: object, *, low: int, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _at_least_zero(name: str, value: object, *, at_most: float = math.inf) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= at_most:  # type: ignore[arg-type,operator]
        bounds = "from 0 to 1" if at_most == 1 else "a finite number at least 0"
        msg = f"{name} must be {bounds}, got {value!r}"
        raise ValueError(msg)


def _span(name: str, value: object) -> None:
    """A (min, max) range of simulated seconds."""
    if not isinstance(value, tuple) or len(value) != 2:
        msg = f"{name} must be a (min, max) pair of seconds, got {value!r}"
        raise ValueError(msg)
    low, high = value
    _at_least_zero(f"{name}[0]", low)
    _at_least_zero(f"{name}[1]", high)
    if low > high:
        msg = f"{name} must be a (min, max) pair with min <= max, got {value!r}"
        raise ValueError(msg)
