"""
What a hand-written client reads of the service's answers, in either dialect, by hand.

The bare baselines read rows the way a careful user would: the live service's (a word
status outside, the outputs and a numeric status under ``result``, ``task_id`` beside the
platform's row id) and the reference page's (a flat row). Kept to the few dict lookups a
user writes, so the baselines' CPU stays what a hand-written loop costs.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["batch_rows", "read_row", "submitted_ids"]

#: Status words of the live service that end a task, as the reference's numbers.
_FINAL_WORDS: Final = {
    "completed": "3",
    "complete": "3",
    "success": "3",
    "succeeded": "3",
    "failed": "4",
    "failure": "4",
    "error": "4",
}
_CODES: Final = frozenset({"1", "2", "3", "4"})


def submitted_ids(data: Any) -> list[int]:
    """A submit's task ids: a list (the page) or ``{"task_ids": [...]}`` (live)."""
    ids: Any = data.get("task_ids", data.get("task_id")) if isinstance(data, dict) else data
    return [int(i) for i in (ids if isinstance(ids, list) else [ids])]


def batch_rows(data: Any) -> list[Any]:
    """A batch answer's rows: under ``list`` (live), ``rows`` (the page), or a bare list."""
    if isinstance(data, list):
        return data
    rows: list[Any] = data.get("list") or data.get("rows") or []
    return rows


def read_row(row: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """
    A row's task id, status ("1" to "4", or "" when it reads as neither) and fields, with
    ``result`` (live) merged over the outer object so both dialects read alike.
    """
    result = row.get("result")
    if not isinstance(result, dict):
        status = str(row["status"])
        return int(row["id"]), status if status in _CODES else _FINAL_WORDS.get(status, ""), row
    merged = {**row, **{key: value for key, value in result.items() if value is not None}}
    task_id = int(row.get("task_id") or result["id"])
    inner = str(result.get("status"))
    if inner in _CODES:
        return task_id, inner, merged
    return task_id, _FINAL_WORDS.get(str(row.get("status")).lower(), ""), merged
