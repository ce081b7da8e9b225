"""
suno-async: a typed asyncio SDK for the Suno music API as sold by open.suno.cn.

Open an :class:`AsyncSuno` session, start songs, and await any number of them together:
the session's watcher polls all outstanding tasks in a few batch queries per tick.
"""

from __future__ import annotations

from typing import Any

from ._bulk import (
    BalanceTooLowError,
    BudgetReachedError,
    BulkOutcome,
    BulkProgress,
    BulkRun,
    CostEstimate,
)
from ._client import DEFAULT_BASE_URL, AsyncSuno
from ._config import PollPolicy, RetryPolicy, Timeouts
from ._download import DownloadPolicy
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    DestinationExistsError,
    DownloadError,
    DownloadTimeoutError,
    InsufficientPointsError,
    MediaTooLargeError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    RequestInfo,
    ResponseTooLargeError,
    ServerError,
    SessionClosedError,
    SunoError,
    SunoTimeoutError,
    TaskFailedError,
    TaskStalledError,
    TLSError,
    TransportError,
    UndecodableResponseError,
    UsageError,
    ValidationError,
    WaitTimeoutError,
    WrongEventLoopError,
)
from ._journal import JournalError, JournalLockedError, JournalMismatchError, export_journal
from ._listen import StatusChanges
from ._models import (
    DEFAULT_MODEL,
    GENERATION_MODELS,
    REMASTER_MODELS,
    AlignedLyricsRequest,
    AlignedWord,
    Balance,
    ConvertWavRequest,
    CropRequest,
    FileInfo,
    GenerateRequest,
    GenerationModel,
    LyricsAlignment,
    RemasterModel,
    RemasterRequest,
    Song,
    SpeedRequest,
    StatusChange,
    Task,
    TaskHandle,
    TaskKind,
    TaskStatus,
    UploadRequest,
    Video,
    VideoRequest,
    Wav,
    WholeSongRequest,
)
from ._names import safe_filename
from ._transport import RawResponse
from ._watcher import WatcherStats

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "GENERATION_MODELS",
    "REMASTER_MODELS",
    "APIError",
    "AlignedLyricsRequest",
    "AlignedWord",
    "AsyncSuno",
    "AuthenticationError",
    "Balance",
    "BalanceTooLowError",
    "BudgetReachedError",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "ConfigurationError",
    "ConvertWavRequest",
    "CostEstimate",
    "CropRequest",
    "DestinationExistsError",
    "DownloadError",
    "DownloadPolicy",
    "DownloadTimeoutError",
    "FileInfo",
    "GenerateRequest",
    "GenerationModel",
    "InsufficientPointsError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "LyricsAlignment",
    "MediaTooLargeError",
    "NetworkError",
    "NotFoundError",
    "PollPolicy",
    "RateLimitError",
    "RawResponse",
    "RedirectError",
    "RemasterModel",
    "RemasterRequest",
    "RequestInfo",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SessionClosedError",
    "Song",
    "SpeedRequest",
    "StatusChange",
    "StatusChanges",
    "SunoError",
    "SunoTimeoutError",
    "TLSError",
    "Task",
    "TaskFailedError",
    "TaskHandle",
    "TaskKind",
    "TaskStalledError",
    "TaskStatus",
    "Timeouts",
    "TransportError",
    "UndecodableResponseError",
    "UploadRequest",
    "UsageError",
    "ValidationError",
    "Video",
    "VideoRequest",
    "WaitTimeoutError",
    "WatcherStats",
    "Wav",
    "WholeSongRequest",
    "WrongEventLoopError",
    "export_journal",
    "safe_filename",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("suno-async")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
