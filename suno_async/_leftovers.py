"""
A new journal beside the media of an earlier run: refused before anything is paid.

A bulk run's journal is what tells a re-run what was already paid for. When it is new
(never made, deleted, cut to zero bytes, or passed under another name) while the output
folder already holds files named after this run's songs, starting afresh would pay for
every one of them again: the run is refused, unless the caller says it means it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from ._journal import JournalError
from ._names import NAME_MAX_BYTES, safe_filename

__all__ = ["ExistingMediaError", "refuse_existing_media", "run_media"]

#: A downloaded file's name: the task id, a dash, the cleaned title, an extension.
_NAME: Final = re.compile(r"(\d+)-(.+)\.([a-z0-9]{1,16})")
#: The ``.part`` of a name too long to take a prefix and a suffix (see ``_sinks``).
_HASHED_PART: Final = re.compile(r"\.[0-9a-f]{32}\.part")
#: How many of the found files an error names.
_SHOWN: Final = 3


class ExistingMediaError(JournalError):
    """
    The journal is new but the output folder already holds this run's media: an earlier
    run's journal is missing, and starting afresh would pay for every request again.
    """

    def __init__(
        self,
        journal: Path,
        folder: Path,
        found: list[Path],
        *,
        options: tuple[str, str] = ("journal=", "allow_existing_media=True"),
    ) -> None:
        # ``options``: how the caller names the journal and the override (the CLI's flags).
        journal_option, override = options
        names = ", ".join(path.name for path in found[:_SHOWN])
        more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        super().__init__(
            f"the journal {journal} is new (missing or empty), but {folder} already holds "
            f"{len(found)} file(s) of this run's songs ({names}{more}): starting afresh would "
            "pay for every request again. Nothing was sent. If the earlier run's journal "
            f"was moved or renamed, pass it with {journal_option} (or put it back at "
            f"{journal}) to resume without paying twice; to pay for every request again "
            f"anyway, pass {override}"
        )
        self.journal = journal
        self.folder = folder
        self.found = found


def run_media(folder: Path, titles: Iterable[str | None]) -> list[Path]:
    """
    The files in ``folder`` that a download of one of these titles would have written:
    ``{task_id}-{title}.{ext}`` as ``safe_filename`` makes it, or its ``.part``.
    """
    bodies = {safe_filename(title) for title in titles}
    found: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet: nothing in it
        return []
    for entry in entries:
        name = entry.name
        if name.startswith(".") and name.endswith(".part"):
            if _HASHED_PART.fullmatch(name):
                found.append(Path(entry.path))
                continue
            name = name[1:-5]
        match = _NAME.fullmatch(name)
        if match is None:
            continue
        task_id, body, ext = int(match[1]), match[2], match[3]
        # Exact for every name that was not cut to fit; a cut one is rebuilt to compare.
        if body in bodies or (
            len(name.encode()) >= NAME_MAX_BYTES - 4
            and any(safe_filename(t, task_id=task_id, ext=ext) == name for t in bodies)
        ):
            found.append(Path(entry.path))
    return sorted(found)


def refuse_existing_media(journal: Path, folder: Path, titles: Iterable[str | None]) -> None:
    """Raise :class:`ExistingMediaError` when ``folder`` holds media of these titles."""
    found = run_media(folder, titles)
    if found:
        raise ExistingMediaError(journal, folder, found)
