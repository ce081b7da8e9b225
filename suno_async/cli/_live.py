"""The live progress display on a terminal, drawn with rich (the `cli` extra)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ._output import Tally

__all__ = ["RichView"]

_STYLES = {
    "planned": "dim",
    "sending": "yellow",
    "unknown": "bold red",
    "queued": "cyan",
    "generating": "blue",
    "succeeded": "green",
    "done": "green",
    "downloaded": "bold green",
    "failed": "red",
}


def _counts(tally: Tally) -> str:
    parts = [
        f"[{_STYLES.get(name, 'white')}]{name} {count}[/]"
        for name, count in tally.counts.items()
        if count
    ]
    return "  ".join(parts) or "[dim]starting[/]"


def _left(tally: Tally) -> str:
    eta = tally.eta
    if eta is None:
        return "left: [dim]-:--[/]"
    whole = int(eta)
    return f"left: ~{whole // 60}:{whole % 60:02d}"


class RichView:
    """A bar with counts per state, points spent, requests made, elapsed and time left."""

    def __init__(self, tally: Tally) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("[magenta]{task.fields[points]} pts[/] {task.fields[requests]} req"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=Console(stderr=True),
            refresh_per_second=8,
            # Results printed meanwhile go above the display when stdout is this terminal
            # too; redirected to a file, they must stay in the file.
            redirect_stdout=sys.stdout.isatty(),
        )
        self._task = self._progress.add_task(
            "suno", total=tally.total, counts="", points=0, requests=0, left=""
        )
        self._progress.start()
        self.update(tally)

    def update(self, tally: Tally) -> None:
        self._progress.update(
            self._task,
            total=tally.total,
            completed=tally.finished,
            counts=_counts(tally),
            points=tally.points_spent,
            requests=tally.requests,
            left=_left(tally),
        )

    def close(self, tally: Tally) -> None:
        self.update(tally)
        self._progress.stop()
