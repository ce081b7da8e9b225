"""
Reading a bulk file: one generate request per line, every line checked before anything is sent.

A line is a JSON object whose keys are :class:`GenerateRequest`'s fields (``model`` may be
left out). Blank lines are skipped but still counted, so line numbers match the editor's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import attrs

from .._errors import ValidationError
from .._models import DEFAULT_MODEL, GenerateRequest
from ._exit import CliError

__all__ = ["load_requests"]

_FIELDS: Final = tuple(field.name for field in attrs.fields(GenerateRequest))
#: How many bad lines one error lists; the rest are counted.
_SHOWN: Final = 5


def _request(text: str) -> GenerateRequest:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSON nested too deep for the parser
        msg = f"not JSON ({exc})"
        raise ValueError(msg) from None
    if not isinstance(data, dict):
        msg = f"must be a JSON object of request fields, got {type(data).__name__}"
        raise ValueError(msg)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        msg = f"unknown field {unknown[0]!r} (the fields are: {', '.join(_FIELDS)})"
        raise ValueError(msg)
    data.setdefault("model", DEFAULT_MODEL)
    try:
        return GenerateRequest(**data)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    except TypeError as exc:
        msg = f"a field has the wrong type ({exc})"
        raise ValueError(msg) from None


def load_requests(path: Path) -> tuple[list[GenerateRequest], list[int]]:
    """
    Every request of the file and its line number, or a :class:`CliError` naming the bad
    lines (exit 2).
    """
    try:
        with path.open(encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        msg = f"cannot read {str(path)!r}: {reason}"
        raise CliError(msg) from None
    requests: list[GenerateRequest] = []
    numbers: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            requests.append(_request(line))
            numbers.append(number)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        more = len(problems) - _SHOWN
        shown = "; ".join(problems[:_SHOWN]) + (
            f"; and {more} more bad line(s)" if more > 0 else ""
        )
        msg = f"{path}: {shown}. Nothing was sent: fix the file and run again"
        raise CliError(msg)
    if not requests:
        msg = (
            f"{path}: no requests (one JSON object per line, e.g. "
            '{"title": "Rain", "description": "lo-fi beats"})'
        )
        raise CliError(msg)
    return requests, numbers
