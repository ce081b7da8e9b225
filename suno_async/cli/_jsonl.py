"""
Reading a bulk file: one generate request per line, every line checked before anything is sent.

A line is a JSON object whose keys are :class:`GenerateRequest`'s fields (``model`` may be
left out). Blank lines are skipped but still counted, so line numbers match the editor's.

The file is read in bytes with a cap per line and a cap on the whole, so ``bulk /dev/zero``
or a stray multi-gigabyte file ends with a clear error instead of filling the memory; a
UTF-8 byte order mark (which some Windows editors write) is skipped, and a line that is not
UTF-8 is named by its number like any other bad line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import attrs

from .._duplicates import duplicate_groups
from .._errors import ValidationError
from .._models import DEFAULT_MODEL, GenerateRequest
from ._exit import CliError

__all__ = ["MAX_FILE_BYTES", "MAX_LINE_BYTES", "line_groups", "load_requests"]

_FIELDS: Final = tuple(field.name for field in attrs.fields(GenerateRequest))
#: How many bad lines one error lists; the rest are counted.
_SHOWN: Final = 5
#: One request's line: lyrics of a long song are a few kilobytes; a megabyte is no prompt.
MAX_LINE_BYTES: Final = 1024 * 1024
#: The whole file: thousands of requests with full lyrics fit many times over.
MAX_FILE_BYTES: Final = 64 * 1024 * 1024
#: How much of a field name an error quotes.
_SNIPPET: Final = 40
_BOM: Final = b"\xef\xbb\xbf"


def _snippet(text: str) -> str:
    """``text`` quoted, cut to a few dozen characters: an error line stays one line."""
    if len(text) <= _SNIPPET:
        return repr(text)
    return f"{text[:_SNIPPET]!r}... ({len(text)} characters)"


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
        msg = f"unknown field {_snippet(unknown[0])} (the fields are: {', '.join(_FIELDS)})"
        raise ValueError(msg)
    data.setdefault("model", DEFAULT_MODEL)
    try:
        return GenerateRequest(**data)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    except TypeError as exc:
        msg = f"a field has the wrong type ({exc})"
        raise ValueError(msg) from None


def _read_lines(path: Path) -> list[bytes]:
    """The file's lines as bytes, within the caps; a :class:`CliError` past either."""
    lines: list[bytes] = []
    total = 0
    try:
        with path.open("rb") as file:
            while line := file.readline(MAX_LINE_BYTES + 1):
                total += len(line)
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    msg = (
                        f"{path}: line {len(lines) + 1} is longer than {MAX_LINE_BYTES} bytes "
                        "(one request per line). Nothing was sent: is this the right file?"
                    )
                    raise CliError(msg)
                if total > MAX_FILE_BYTES:
                    msg = (
                        f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. Nothing "
                        "was sent: is this the right file? Split a bigger run into several "
                        "files, each with its own --out folder"
                    )
                    raise CliError(msg)
                lines.append(line.rstrip(b"\r\n"))
    except OSError as exc:
        msg = f"cannot read {str(path)!r}: {exc.strerror or exc}"
        raise CliError(msg) from None
    if lines and lines[0].startswith(_BOM):
        lines[0] = lines[0][len(_BOM) :]
    return lines


def load_requests(path: Path) -> tuple[list[GenerateRequest], list[int]]:
    """
    Every request of the file and its line number, or a :class:`CliError` naming the bad
    lines (exit 2).
    """
    requests: list[GenerateRequest] = []
    numbers: list[int] = []
    problems: list[str] = []
    for number, raw in enumerate(_read_lines(path), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"line {number}: not UTF-8 text (byte {exc.start + 1} of the line)")
            continue
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


def line_groups(requests: list[GenerateRequest], lines: list[int]) -> list[list[int]]:
    """The line numbers of identical requests, one list per request given more than once."""
    return [[lines[i] for i in group] for group in duplicate_groups(requests)]
