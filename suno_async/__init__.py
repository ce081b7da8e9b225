"""
suno-async: a typed asyncio SDK for the Suno music API as sold by open.suno.cn.

Open an :class:`AsyncSuno` session, start songs, and await any number of them together:
the session's watcher polls all outstanding tasks in a few batch queries per tick.

Names are loaded when first used, so ``import suno_async`` (and the command's ``--help``)
stays quick; ``from suno_async import AsyncSuno`` loads aiohttp and the session as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._bulk import (
        BalanceTooLowError,
        BudgetReachedError,
        BulkOutcome,
        BulkProgress,
        BulkRun,
        CostEstimate,
    )
    from ._client import DEFAULT_BASE_URL, AsyncSuno
    from ._config import PollPolicy, RateLimit, RetryPolicy, Timeouts
    from ._download import DownloadPolicy
    from ._duplicates import DuplicateRequestsWarning
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
    from ._journal import (
        JournalConflictError,
        JournalError,
        JournalLockedError,
        JournalMismatchError,
        export_journal,
    )
    from ._leftovers import ExistingMediaError
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
    from ._points import PointsEntry, PointsEntryKind, PointsLogPage
    from ._sound import DEFAULT_SOUND_MODEL, SOUND_MODELS, SoundModel, SoundRequest
    from ._transport import RawResponse
    from ._watcher import WatcherStats

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_SOUND_MODEL",
    "GENERATION_MODELS",
    "REMASTER_MODELS",
    "SOUND_MODELS",
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
    "DuplicateRequestsWarning",
    "ExistingMediaError",
    "FileInfo",
    "GenerateRequest",
    "GenerationModel",
    "InsufficientPointsError",
    "JournalConflictError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "LyricsAlignment",
    "MediaTooLargeError",
    "NetworkError",
    "NotFoundError",
    "PointsEntry",
    "PointsEntryKind",
    "PointsLogPage",
    "PollPolicy",
    "RateLimit",
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
    "SoundModel",
    "SoundRequest",
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


#: Where each public name lives: the names above, loaded on first use.
_EXPORTS: Final[dict[str, str]] = {
    "BalanceTooLowError": "_bulk",
    "BudgetReachedError": "_bulk",
    "BulkOutcome": "_bulk",
    "BulkProgress": "_bulk",
    "BulkRun": "_bulk",
    "CostEstimate": "_bulk",
    "DEFAULT_BASE_URL": "_client",
    "AsyncSuno": "_client",
    "PollPolicy": "_config",
    "RateLimit": "_config",
    "RetryPolicy": "_config",
    "Timeouts": "_config",
    "DownloadPolicy": "_download",
    "DuplicateRequestsWarning": "_duplicates",
    "APIError": "_errors",
    "AuthenticationError": "_errors",
    "ConfigurationError": "_errors",
    "DestinationExistsError": "_errors",
    "DownloadError": "_errors",
    "DownloadTimeoutError": "_errors",
    "InsufficientPointsError": "_errors",
    "MediaTooLargeError": "_errors",
    "NetworkError": "_errors",
    "NotFoundError": "_errors",
    "RateLimitError": "_errors",
    "RedirectError": "_errors",
    "RequestInfo": "_errors",
    "ResponseTooLargeError": "_errors",
    "ServerError": "_errors",
    "SessionClosedError": "_errors",
    "SunoError": "_errors",
    "SunoTimeoutError": "_errors",
    "TLSError": "_errors",
    "TaskFailedError": "_errors",
    "TaskStalledError": "_errors",
    "TransportError": "_errors",
    "UndecodableResponseError": "_errors",
    "UsageError": "_errors",
    "ValidationError": "_errors",
    "WaitTimeoutError": "_errors",
    "WrongEventLoopError": "_errors",
    "JournalConflictError": "_journal",
    "JournalError": "_journal",
    "JournalLockedError": "_journal",
    "JournalMismatchError": "_journal",
    "export_journal": "_journal",
    "ExistingMediaError": "_leftovers",
    "StatusChanges": "_listen",
    "DEFAULT_MODEL": "_models",
    "GENERATION_MODELS": "_models",
    "REMASTER_MODELS": "_models",
    "AlignedLyricsRequest": "_models",
    "AlignedWord": "_models",
    "Balance": "_models",
    "ConvertWavRequest": "_models",
    "CropRequest": "_models",
    "FileInfo": "_models",
    "GenerateRequest": "_models",
    "GenerationModel": "_models",
    "LyricsAlignment": "_models",
    "RemasterModel": "_models",
    "RemasterRequest": "_models",
    "Song": "_models",
    "SpeedRequest": "_models",
    "StatusChange": "_models",
    "Task": "_models",
    "TaskHandle": "_models",
    "TaskKind": "_models",
    "TaskStatus": "_models",
    "UploadRequest": "_models",
    "Video": "_models",
    "VideoRequest": "_models",
    "Wav": "_models",
    "WholeSongRequest": "_models",
    "safe_filename": "_names",
    "PointsEntry": "_points",
    "PointsEntryKind": "_points",
    "PointsLogPage": "_points",
    "DEFAULT_SOUND_MODEL": "_sound",
    "SOUND_MODELS": "_sound",
    "SoundModel": "_sound",
    "SoundRequest": "_sound",
    "RawResponse": "_transport",
    "WatcherStats": "_watcher",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("suno-async")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
