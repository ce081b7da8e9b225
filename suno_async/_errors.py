"""
Every exception suno-async raises, in one tree::

    SunoError
    ├── ValidationError          bad input, caught before any request is sent
    ├── ConfigurationError       no API key, an unsafe base URL
    ├── TransportError           the request got no usable answer
    │   ├── NetworkError         connection refused, reset or dropped
    │   │   └── TLSError         the service's certificate was not trusted
    │   ├── SunoTimeoutError     connect, read or whole-call timeout (also a TimeoutError)
    │   ├── UndecodableResponseError   an HTML proxy page, truncated or too deep JSON
    │   ├── RedirectError        a 3xx answer: API calls never follow redirects
    │   └── ResponseTooLargeError      a body over the session's size cap, refused unread
    ├── APIError                 the service answered with an error envelope or status
    │   ├── AuthenticationError  the key was refused (401/403)
    │   ├── InsufficientPointsError   the balance cannot pay for the call
    │   ├── RateLimitError       429; carries the Retry-After delay
    │   ├── NotFoundError        an unknown task id or clip id
    │   └── ServerError          5xx
    ├── TaskFailedError          a task ended with status 4 (errormsg / errormsgEn)
    ├── WaitTimeoutError         a wait's own deadline passed (also a TimeoutError)
    │   └── TaskStalledError     a task showed no progress for PollPolicy.stall_timeout
    ├── SessionClosedError       the session is (or was, mid-call) closed
    ├── WrongEventLoopError      the session was used from another event loop
    ├── UsageError               a call out of order (a bulk run not entered, no event loop)
    └── DownloadError            a media file could not be fetched or saved
        ├── DownloadTimeoutError     the per-file deadline or a read timeout (a TimeoutError)
        ├── MediaTooLargeError       the body is larger than the caller's max_bytes
        └── DestinationExistsError   a different file already has the name (FileExistsError)

Transport and API errors say whether a paid call *may have been charged*: ``False`` when the
request provably never reached the service or the service refused it, ``True`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from ._models import TaskStatus

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "DestinationExistsError",
    "DownloadError",
    "DownloadTimeoutError",
    "InsufficientPointsError",
    "MediaTooLargeError",
    "NetworkError",
    "NotFoundError",
    "RateLimitError",
    "RedirectError",
    "RequestInfo",
    "ResponseTooLargeError",
    "ServerError",
    "SessionClosedError",
    "SunoError",
    "SunoTimeoutError",
    "TLSError",
    "TaskFailedError",
    "TaskStalledError",
    "TransportError",
    "UndecodableResponseError",
    "UsageError",
    "ValidationError",
    "WaitTimeoutError",
    "WrongEventLoopError",
]


class RequestInfo:
    """The call an error answers: enough to log and to decide, never the key or the body."""

    __slots__ = ("attempts", "method", "paid", "path")

    def __init__(self, method: str, path: str, *, paid: bool, attempts: int = 1) -> None:
        self.method: str = method
        self.path: str = path
        self.paid: bool = paid
        self.attempts: int = attempts

    def __repr__(self) -> str:
        return (
            f"RequestInfo(method={self.method!r}, path={self.path!r}, "
            f"paid={self.paid!r}, attempts={self.attempts!r})"
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class SunoError(Exception):
    """
    Base of every error raised by suno-async.

    ``may_have_charged`` is readable on every error: ``True`` only when a paid call may have
    reached the service and cost points.
    """

    may_have_charged: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(SunoError, ValueError):
    """Input broke a rule of the API; nothing was sent and nothing was charged."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class ConfigurationError(SunoError, ValueError):
    """The session cannot be built as asked (no key, an unsafe base URL)."""


class TransportError(SunoError):
    """The request got no usable answer from the service."""

    def __init__(
        self, message: str, *, request: RequestInfo | None = None, may_have_charged: bool = False
    ) -> None:
        super().__init__(message)
        self.request = request
        self.may_have_charged = may_have_charged


class NetworkError(TransportError):
    """The connection failed: refused, reset, or dropped before an answer."""


class TLSError(NetworkError):
    """The service's TLS certificate was not trusted (or TLS failed): nothing was sent."""


class SunoTimeoutError(TransportError, TimeoutError):
    """The service did not connect or answer in time (a phase, or the whole call)."""


class UndecodableResponseError(TransportError):
    """The answer was not the API's JSON envelope (an HTML proxy page, truncated JSON)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        snippet: str = "",
        request: RequestInfo | None = None,
        may_have_charged: bool = False,
    ) -> None:
        super().__init__(message, request=request, may_have_charged=may_have_charged)
        self.status = status
        self.snippet = snippet


class RedirectError(TransportError):
    """
    The service answered with a redirect, which API calls never follow.

    Following one could replay a paid body to another host or downgrade it to a GET, and
    send the key along; ``location`` says where it pointed, ``status`` is the 3xx status.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        location: str | None,
        request: RequestInfo | None = None,
        may_have_charged: bool = False,
    ) -> None:
        super().__init__(message, request=request, may_have_charged=may_have_charged)
        self.status = status
        self.location = location


class ResponseTooLargeError(TransportError):
    """
    An answer larger than the session's ``max_response_bytes``; refused without reading it
    all, and never downloaded again by a retry.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: int,
        size: int | None = None,
        request: RequestInfo | None = None,
        may_have_charged: bool = False,
    ) -> None:
        super().__init__(message, request=request, may_have_charged=may_have_charged)
        self.limit = limit
        self.size = size


class APIError(SunoError):
    """
    The service answered with an error.

    Attributes:
        status: the HTTP status (200 when the error came inside a 200 envelope).
        code: the envelope's ``code``, when there was an envelope.
        api_message: the envelope's ``message`` as the service wrote it.
        request: the call this answers.
        may_have_charged: whether the call may have cost points.
        task_id: the task whose wait this error ended (an unknown id, an id refused again
            and again), so ``as_completed`` can say which; None otherwise.
    """

    task_id: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        api_message: str = "",
        request: RequestInfo | None = None,
        may_have_charged: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.api_message = api_message
        self.request = request
        self.may_have_charged = may_have_charged


class AuthenticationError(APIError):
    """The API key was refused: check the key; retrying will not help."""


class InsufficientPointsError(APIError):
    """The account's points cannot pay for this call: top up, then call again."""


class RateLimitError(APIError):
    """Too many requests; ``retry_after`` is the delay the service asked for, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        api_message: str = "",
        request: RequestInfo | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=code, api_message=api_message, request=request
        )
        self.retry_after = retry_after


class NotFoundError(APIError):
    """The service does not know this task id or clip id (or it belongs to another account)."""


class ServerError(APIError):
    """The service failed (5xx); a free call was already retried, a paid one is left to you."""


class TaskFailedError(SunoError):
    """A task ended in failure; the service's reasons are in ``errormsg`` and ``errormsg_en``."""

    def __init__(self, task_id: int, errormsg: str | None, errormsg_en: str | None) -> None:
        reason = errormsg_en or errormsg or "no reason given"
        super().__init__(f"task {task_id} failed: {reason}")
        self.task_id = task_id
        self.errormsg = errormsg
        self.errormsg_en = errormsg_en


class WaitTimeoutError(SunoError, TimeoutError):
    """
    A wait's deadline passed; the tasks go on on the service.

    ``pending`` holds the ids not yet finished: wait on them again later, by id.
    """

    def __init__(self, timeout: float, pending: Sequence[int]) -> None:
        shown = ", ".join(map(str, pending[:10])) + (", ..." if len(pending) > 10 else "")
        super().__init__(
            f"{len(pending)} task(s) not finished after {timeout:g}s ({shown}); "
            "they keep running on the service: wait on their ids again to collect them"
        )
        self.timeout = timeout
        self.pending: tuple[int, ...] = tuple(pending)


class SessionClosedError(SunoError, RuntimeError):
    """
    The session is closed: a call on it, or a wait or call in flight when it closed.

    Awaited tasks keep running on the service: wait on their ids from a new session.
    ``task_id`` names the awaited task (``None`` for a call); ``request`` names the call.
    """

    def __init__(
        self,
        task_id: int | None = None,
        last_status: TaskStatus | None = None,
        *,
        request: RequestInfo | None = None,
        message: str | None = None,
    ) -> None:
        if message is None:
            if task_id is not None:
                message = (
                    f"the AsyncSuno session closed while waiting for task {task_id}; "
                    f"it keeps running on the service: wait on id {task_id} from a new session"
                )
            else:
                what = f"{request}: " if request is not None else ""
                message = f"{what}this AsyncSuno session is closed; create a new one"
        super().__init__(message)
        self.task_id = task_id
        self.last_status = last_status
        self.request = request


class WrongEventLoopError(SunoError, RuntimeError):
    """
    The session was used from an event loop other than the one it first ran on.

    aiohttp sessions and the watcher belong to one loop: create one AsyncSuno per loop
    (e.g. inside the ``asyncio.run`` that uses it), and close it there.
    """


class UsageError(SunoError, RuntimeError):
    """
    The SDK was used out of order: a bulk run iterated before ``async with``, entered twice,
    or an async-only call made with no running event loop. The message says what to do.
    """


class TaskStalledError(WaitTimeoutError):
    """
    A task kept one status for ``PollPolicy.stall_timeout`` seconds, so its wait ended.

    The task may still finish on the service: wait on its id again to keep waiting, or look
    at it with ``get_task``. ``last_status`` is the status it was stuck in (None if the
    service never answered for it).
    """

    def __init__(self, task_id: int, last_status: TaskStatus | None, stalled_for: float) -> None:
        state = "never answered for" if last_status is None else f"still {last_status.name.lower()}"
        SunoError.__init__(
            self,
            f"task {task_id} showed no progress for {stalled_for:g}s ({state}); it may be "
            f"stuck on the service: look at it with get_task({task_id}), wait on its id "
            "again to keep waiting, or raise PollPolicy.stall_timeout",
        )
        self.timeout = stalled_for
        self.pending: tuple[int, ...] = (task_id,)
        self.task_id = task_id
        self.last_status = last_status


class DownloadError(SunoError):
    """
    A media file could not be fetched or saved; nothing partial is left behind.

    Attributes:
        url: the media URL asked for (never carries the API key: media are fetched without it).
        path: the file it was going to, or None for :meth:`AsyncSuno.download_bytes`.
        status: the media host's HTTP status, when it answered with an error.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        path: Path | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.path = path
        self.status = status


class DownloadTimeoutError(DownloadError, TimeoutError):
    """The file's deadline passed or the host stopped sending; try again later."""


class MediaTooLargeError(DownloadError):
    """The body is larger than ``max_bytes``; it was refused without reading it all."""

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        path: Path | None = None,
        max_bytes: int,
        size: int | None = None,
    ) -> None:
        super().__init__(message, url=url, path=path)
        self.max_bytes = max_bytes
        self.size = size


class DestinationExistsError(DownloadError, FileExistsError):
    """A different file already has the name; it was left untouched."""
