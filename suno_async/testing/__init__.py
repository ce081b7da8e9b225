"""A fake Suno API server for tests and benchmarks, independent of the SDK it exercises."""

from __future__ import annotations

from ._faults import FAULT_KINDS, Fault
from ._media import MediaFile
from ._server import DIALECTS, FakeSunoServer, MediaRequest, PaidCall
from ._songs import FakeTask, TaskPlan

__all__ = [
    "DIALECTS",
    "FAULT_KINDS",
    "FakeSunoServer",
    "FakeTask",
    "Fault",
    "MediaFile",
    "MediaRequest",
    "PaidCall",
    "TaskPlan",
]
