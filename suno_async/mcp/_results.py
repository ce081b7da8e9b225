"""
What the tools hand back: results as plain JSON an agent can act on, and every failure as
one line saying its cause and what to do next.

Nothing here sees the key: results are built from typed results, errors from the SDK's own
messages, which never carry it.
"""

from __future__ import annotations

import datetime
from typing import Any, Final

from mcp.server.mcpserver.exceptions import ToolError
from yarl import URL

from .._errors import (
    AuthenticationError,
    InsufficientPointsError,
    NotFoundError,
    RateLimitError,
    SunoError,
    TaskFailedError,
    TransportError,
    ValidationError,
)
from .._models import LyricsAlignment, Song, Task, TaskStatus

__all__ = ["LINKS_NOTE", "failure", "result_json", "status_name", "tool_error"]

#: Said beside every link, because an agent that stores a link finds it dead an hour later.
LINKS_NOTE: Final = (
    "media links expire about an hour after a song finishes (see *_expires_at): download "
    "soon, or call status for fresh links while the service keeps the files (about a day)"
)

_YEAR_2020: Final = 1_577_836_800
_NEXT: Final[tuple[tuple[type[SunoError], str], ...]] = (
    (AuthenticationError, "the operator must set a valid SUNO_API_KEY and restart the server"),
    (InsufficientPointsError, "the account needs more points: ask the operator to top it up"),
    (RateLimitError, "wait a minute, then call again"),
    (NotFoundError, "check the id: it comes from a generate result"),
    (ValidationError, "fix the argument named and call again"),
    (TransportError, "the service did not answer: call again in a minute"),
)


def status_name(status: TaskStatus) -> str:
    return {
        TaskStatus.QUEUED: "queued",
        TaskStatus.GENERATING: "generating",
        TaskStatus.SUCCEEDED: "succeeded",
        TaskStatus.FAILED: "failed",
    }[status]


def _expiry(url: str | None) -> str | None:
    """A signed link's ``expires=`` as an ISO time, when the link carries one."""
    if not url:
        return None
    try:
        stamp = URL(url).query.get("expires")
        # A stamp before 2020 is no wall-clock time (the fake server signs on its own clock).
        if stamp is None or int(stamp) < _YEAR_2020:
            return None
        moment = datetime.datetime.fromtimestamp(int(stamp), tz=datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def result_json(result: object) -> dict[str, Any]:
    """A finished task's result (a song, an alignment, a failure) as JSON."""
    if isinstance(result, Song):
        return {
            "task_id": result.task_id,
            "state": "succeeded",
            "clip_id": result.id,
            "title": result.title,
            "duration_s": result.duration,
            "tags": result.tags,
            "model": result.model_name,
            "audio_url": result.audio_url,
            "audio_url_expires_at": _expiry(result.audio_url),
            "image_url": result.image_url,
            "video_url": result.video_url or None,
        }
    if isinstance(result, LyricsAlignment):
        return {
            "task_id": result.task_id,
            "state": "succeeded",
            "words": [
                {"word": w.word, "start_s": w.start_s, "end_s": w.end_s, "aligned": w.success}
                for w in result.words
            ],
        }
    if isinstance(result, TaskFailedError):
        return {
            "task_id": result.task_id,
            "state": "failed",
            "reason": result.errormsg_en or result.errormsg or "the service gave no reason",
        }
    if isinstance(result, Task):
        return {"task_id": result.id, "state": status_name(result.status)}
    if isinstance(result, SunoError):
        return {"state": "error", "reason": one_line(str(result))}
    msg = f"no JSON form for {type(result).__name__}"
    raise TypeError(msg)


def one_line(text: str) -> str:
    return " ".join(text.split())


def tool_error(exc: SunoError) -> ToolError:
    """The SDK's error as a tool error: its one-line cause, then what to do next."""
    message = one_line(str(exc))
    if getattr(exc, "may_have_charged", False):
        message += " (the call may have been charged: do not repeat it; check status first)"
    for kind, advice in _NEXT:
        if isinstance(exc, kind):
            return ToolError(f"{message}. Next: {advice}")
    return ToolError(message)


def failure(message: str) -> ToolError:
    """A refusal of the server's own (a rule, a bad argument): already cause and next step."""
    return ToolError(one_line(message))
