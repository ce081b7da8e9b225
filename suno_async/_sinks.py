"""
Where a download's body goes: memory, or a ``.part`` file linked into place when whole.

The fetching side (``_download.py``) knows HTTP and retries; this side knows files: the
``.part`` beside its final name, the lock against another writer, the size check, fsync and
the no-clobber link. A file is either whole under its final name or absent, through any
crash of the process: written bytes live in the OS page cache, which a kill -9 never loses.
Only a power cut (or an OS crash) can, and only ``DownloadPolicy(fsync=True)`` guards
against it, at the price of one fsync of the file and one of its folder per download.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

import anyio
import anyio.to_thread
import attrs

from ._checks import show
from ._errors import DestinationExistsError, DownloadError, ValidationError
from ._names import NAME_MAX_BYTES

if sys.platform != "win32":
    import fcntl

__all__ = ["Answer", "FileSink", "MemorySink", "Sink", "prepare_folder"]


@attrs.frozen
class Answer:
    """What a media host said about the body it is sending."""

    total: int | None
    content_type: str | None


class Sink(Protocol):
    """Where the body goes: a file beside its final name, or memory."""

    offset: int
    final: Path | None

    async def begin(self, answer: Answer) -> bool:
        """Get ready for the body; False when it is not needed (the file is already there)."""

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None:
        """Forget what was written: the host is sending the whole body again."""


class MemorySink:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.offset = 0
        self.final: Path | None = None

    async def begin(self, answer: Answer) -> bool:
        return True

    def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        self.offset += len(chunk)

    def restart(self) -> None:
        self.buffer.clear()
        self.offset = 0


class FileSink:
    """
    A ``.part`` file beside the final name, then a no-clobber link into place.

    The final name is known before the first request when the URL or the caller gives the
    extension, so a ``.part`` from a killed run is resumed from its size; otherwise the
    name waits for the host's Content-Type.
    """

    def __init__(
        self,
        folder: Path,
        *,
        url: str,
        name_for: Callable[[str | None], str],
        lock: Callable[[Path], contextlib.AbstractAsyncContextManager[None]],
        fsync: bool = False,
    ) -> None:
        self.folder = folder
        self._fsync = fsync
        self._url = url
        self._name_for = name_for
        self._lock = lock
        self.final: Path | None = None
        self.part: Path | None = None
        self._file: IO[bytes] | None = None
        self._stack = contextlib.AsyncExitStack()
        self.offset = 0
        self.skipped = False
        self._compare = False
        self._owned = False

    async def open(self, name: str) -> None:
        final = self.folder / name
        await self._stack.enter_async_context(self._lock(final))
        part_name = f".{name}.part"
        if len(part_name.encode()) > NAME_MAX_BYTES:
            part_name = f".{hashlib.sha256(name.encode()).hexdigest()[:32]}.part"
        self.final, self.part = final, self.folder / part_name
        await anyio.to_thread.run_sync(self._open_part)

    def _paths(self) -> tuple[Path, Path]:
        if self.final is None or self.part is None:  # pragma: no cover  (open sets both)
            msg = "the download's file is not open yet"
            raise RuntimeError(msg)
        return self.final, self.part

    def _open_part(self) -> None:
        """Open and lock the ``.part``; its state is kept here, so a cancelled await leaks none."""
        final, part = self._paths()
        if final.is_symlink() or part.is_symlink():
            msg = f"{final} or its .part is a symbolic link; refusing to write through it"
            raise DestinationExistsError(msg, url=self._url, path=final)
        if final.resolve().parent != self.folder or part.resolve().parent != self.folder:
            msg = f"{final} would land outside {self.folder}; refusing to write it"
            raise DownloadError(msg, url=self._url, path=final)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(part, flags, 0o644)
        except OSError as exc:
            msg = f"cannot write {part} ({exc}); choose a folder you can write to"
            raise DownloadError(msg, url=self._url, path=final) from exc
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            file = os.fdopen(fd, "r+b")
        except BlockingIOError:
            os.close(fd)
            msg = f"another process is downloading to {part}; let it finish, or pick another folder"
            raise DownloadError(msg, url=self._url, path=final) from None
        except BaseException:
            os.close(fd)
            raise
        self._file, self._owned = file, True
        self.offset = file.seek(0, os.SEEK_END)

    async def begin(self, answer: Answer) -> bool:
        if self.final is None:
            await self.open(self._name_for(answer.content_type))
            self.restart()  # asked for from the start: a .part left under this name is stale
        final, _ = self._paths()
        try:
            size = final.stat().st_size
        except FileNotFoundError:
            return True
        if answer.total is None:
            self._compare = True
            return True
        if size == answer.total:
            self.skipped = True
            return False
        raise self._exists(f"{size} bytes, while the host's file has {answer.total}")

    def _exists(self, detail: str) -> DestinationExistsError:
        msg = (
            f"{self.final} already exists and is a different file ({detail}); it was left "
            "untouched: move it away, or pass another filename"
        )
        return DestinationExistsError(msg, url=self._url, path=self.final)

    def write(self, chunk: bytes) -> None:
        if self._file is None:  # pragma: no cover  (begin opened it)
            msg = "the download's file is not open yet"
            raise RuntimeError(msg)
        try:
            self._file.write(chunk)
        except OSError as exc:
            msg = f"cannot write {self.part} ({exc}); free some space or choose another folder"
            raise DownloadError(msg, url=self._url, path=self.final) from exc
        self.offset += len(chunk)

    def restart(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
        self.offset = 0

    async def commit(self) -> Path:
        """Link the ``.part`` into its final name, fsynced first if asked; never replaces."""
        final, _ = self._paths()
        if not self.skipped:
            await anyio.to_thread.run_sync(self._commit)
        await self.close()
        return final

    def _commit(self) -> None:
        final, part = self._paths()
        if self._file is not None:  # kept open, and locked, until the .part is gone
            try:
                self._file.flush()
                if self._fsync:
                    os.fsync(self._file.fileno())
            except OSError as exc:
                msg = f"cannot write {part} ({exc}); free some space or choose another folder"
                raise DownloadError(msg, url=self._url, path=final) from exc
        if self._compare and final.exists():
            same = filecmp.cmp(part, final, shallow=False)
            if not same:
                raise self._exists("the bytes differ")
            self.skipped = True
            return
        try:
            os.link(part, final)
        except FileExistsError:
            raise self._exists("it appeared while downloading") from None
        except OSError:
            # No hard links here (FAT, some network shares): rename, refused if it exists.
            if final.exists():
                raise self._exists("it appeared while downloading") from None
            if sys.platform == "win32" and self._file is not None:
                self._file.close()  # Windows renames no open file
                self._file = None
            os.rename(part, final)
        if self._fsync:
            _fsync_folder(self.folder)

    async def close(self) -> None:
        """
        Drop our ``.part`` (only a kill that runs no code leaves one) and release the locks.

        On POSIX the ``.part`` goes while its lock is still held, so another process never
        sees it half removed; Windows removes no open file, so it closes first there.
        """
        try:
            if self._owned and self.part is not None and sys.platform != "win32":
                with contextlib.suppress(OSError):
                    self.part.unlink()
            if self._file is not None:
                file, self._file = self._file, None
                with contextlib.suppress(OSError):  # a failed last write was reported already
                    file.close()
            if self._owned and self.part is not None and sys.platform == "win32":
                with contextlib.suppress(OSError):
                    self.part.unlink()
        finally:
            self._owned = False
            await self._stack.aclose()


def _fsync_folder(folder: Path) -> None:
    """Make the new name durable too (POSIX); Windows cannot open a folder for this."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover  (some filesystems refuse to fsync a folder)
        pass
    finally:
        os.close(fd)


def prepare_folder(dest: str | os.PathLike[str]) -> Path:
    """The folder ``dest``, made if missing; a path that cannot be a folder is bad input."""
    given: object = dest
    if not isinstance(given, (str, os.PathLike)):
        raise ValidationError("dest", f"must be a folder path (a str or a Path), got {show(given)}")
    folder = Path(dest).expanduser()
    try:
        is_file = folder.exists() and not folder.is_dir()
        if not is_file:
            folder.mkdir(parents=True, exist_ok=True)
            return folder.resolve(strict=True)
    except (OSError, ValueError) as exc:  # a NUL in it, a name too long, no permission
        raise ValidationError("dest", f"cannot be used as a folder ({exc})") from exc
    rule = f"{str(folder)!r} is a file: pass the folder as dest and the name as filename="
    raise ValidationError("dest", rule)
