"""The fake server's simulated clock: task lifecycles are read from it, never scheduled.

It runs ``speed`` simulated seconds per real second, plus whatever ``advance()`` adds. A
list of segments remembers each change of speed or jump, so the instant a task finished in
simulated time can still be mapped back to the wall clock for latency measurements.
"""

from __future__ import annotations

import math
import time

__all__ = ["SimClock"]


class SimClock:
    """Simulated seconds since the server was made, at an adjustable rate."""

    def __init__(self, speed: float) -> None:
        if speed < 0:
            msg = "speed must not be negative"
            raise ValueError(msg)
        self.mono0 = time.monotonic()
        self.wall0 = time.time()
        # Segments (monotonic start, simulated time at start, speed); advance() and speed
        # changes append one, so completion instants can still be mapped to wall time.
        self._segments: list[tuple[float, float, float]] = [(self.mono0, 0.0, speed)]

    @property
    def speed(self) -> float:
        return self._segments[-1][2]

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            msg = "speed must not be negative"
            raise ValueError(msg)
        mono = time.monotonic()
        self._segments.append((mono, self._sim_at(mono), value))

    def now(self) -> float:
        return self._sim_at(time.monotonic())

    def _sim_at(self, mono: float) -> float:
        start, sim, speed = self._segments[-1]
        return sim + (mono - start) * speed

    def advance(self, seconds: float) -> float:
        """Jump the simulated clock; returns the new simulated time."""
        if seconds < 0:
            msg = "the simulated clock only moves forward"
            raise ValueError(msg)
        mono = time.monotonic()
        sim = self._sim_at(mono) + seconds
        self._segments.append((mono, sim, self.speed))
        return sim

    def mono_reaching(self, target: float) -> float | None:
        """The monotonic instant the simulated clock first reached ``target``, if it has."""
        segments = self._segments
        for index, (start, sim, speed) in enumerate(segments):
            if target <= sim:
                return start
            end = segments[index + 1][0] if index + 1 < len(segments) else math.inf
            if speed > 0:
                mono = start + (target - sim) / speed
                if mono <= end:
                    return mono if mono <= time.monotonic() else None
        return None

    def wall_reaching(self, target: float, not_before_mono: float) -> float | None:
        """The wall-clock instant ``target`` was reached, no earlier than ``not_before_mono``."""
        mono = self.mono_reaching(target)
        if mono is None:
            return None
        return self.wall0 + (max(mono, not_before_mono) - self.mono0)
