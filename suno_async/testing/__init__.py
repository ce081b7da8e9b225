"""A fake Suno API server for tests and benchmarks, independent of the SDK it exercises."""

from __future__ import annotations

from ._server import FakeSunoServer, FakeTask, Fault, TaskPlan

__all__ = ["FakeSunoServer", "FakeTask", "Fault", "TaskPlan"]
