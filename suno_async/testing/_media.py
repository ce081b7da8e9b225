"""Media files and how they are served: lengths, ranges, and cuts.

By default every file is tiny but valid, so clients that sniff or decode downloads are
exercised. With a size asked for, audio and video files keep their valid start and go on
with filler bytes that are deterministic per file name (so a resumed download that joins
the wrong pieces is caught) and cheap: slices of one shared 64 KiB block, never a whole
file in memory.
"""

from __future__ import annotations

import asyncio
import random
import re
import struct
import zlib
from typing import TYPE_CHECKING, Final

import attrs
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["MEDIA_TYPES", "MediaFile", "check_size", "media_for", "serve"]


def _mp3() -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: 417-byte frames whose zeroed side
    # information decodes as silence.
    header = bytes([0xFF, 0xFB, 0x90, 0xC0])
    frame = header + bytes(417 - len(header))
    return frame * 8


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mp4() -> bytes:
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 0)
        + struct.pack(">IH10x", 0x10000, 0x100)
        + matrix
        + bytes(24)
        + struct.pack(">I", 1),
    )
    return ftyp + _box(b"moov", mvhd)


def _m4a() -> bytes:
    """The same empty movie, branded as MPEG-4 audio, as the live service's ``mp3Url`` is."""
    ftyp = _box(b"ftyp", b"M4A " + struct.pack(">I", 0x200) + b"M4A isommp42")
    return ftyp + _mp4()[len(_box(b"ftyp", b"isom" + bytes(4) + b"isomiso2mp41")) :]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x8a\x2b\xe2")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def _wav() -> bytes:
    rate, samples = 8000, 800
    data = bytes(samples * 2)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


MEDIA_TYPES: dict[str, tuple[str, bytes]] = {
    "mp3": ("audio/mpeg", _mp3()),
    "mp4": ("video/mp4", _mp4()),
    "m4a": ("audio/mp4", _m4a()),
    "png": ("image/png", _png()),
    "wav": ("audio/wav", _wav()),
}
_SIZED: Final = frozenset({"mp3", "m4a", "mp4", "wav"})
_BLOCK: Final = 1 << 16
_FILLER: Final = random.Random(0).randbytes(_BLOCK)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_TRICKLE_PIECES: Final = 10
_UNSATISFIABLE: Final = (-1, -1)


@attrs.frozen
class MediaFile:
    """One media file: a valid start, then filler up to ``size`` bytes."""

    name: str
    content_type: str
    head: bytes
    size: int

    @property
    def etag(self) -> str:
        return f'"{self.name}-{self.size}"'

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """The bytes in ``[start, end)``, in pieces of at most 64 KiB."""
        head = self.head
        shift = zlib.crc32(self.name.encode())
        position = start
        if position < len(head):
            stop = min(end, len(head))
            yield head[position:stop]
            position = stop
        while position < end:
            offset = (position + shift) % _BLOCK
            piece = _FILLER[offset : offset + min(_BLOCK - offset, end - position)]
            yield piece
            position += len(piece)

    def content(self) -> bytes:
        return b"".join(self.chunks(0, self.size))


def check_size(size: int | tuple[int, int] | None) -> None:
    """Refuse a ``media_bytes`` that is neither a size nor a ``(min, max)`` range of sizes."""
    low, high = size if isinstance(size, tuple) else (size or 0,) * 2
    if not 0 <= low <= high:
        msg = f"media_bytes must be a size or a (min, max) range of sizes, got {size}"
        raise ValueError(msg)


def media_for(name: str, size: int | tuple[int, int] | None = None) -> MediaFile | None:
    """
    Serve by suffix alone: every URL the server hands out names a task, not a stored file.

    ``size`` applies to audio and video (covers stay tiny): a number of bytes, or an
    inclusive range from which each file name picks its own size.
    """
    stem, dot, suffix = name.rpartition(".")
    found = MEDIA_TYPES.get(suffix.lower()) if dot and stem else None
    if found is None:
        return None
    content_type, head = found
    length = len(head)
    if size is not None and suffix.lower() in _SIZED:
        if isinstance(size, tuple):
            low, high = size
            length = low + zlib.crc32(name.encode()) % (high - low + 1)
        else:
            length = size
    return MediaFile(name=name, content_type=content_type, head=head[:length], size=length)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as ``[start, end)``; None to send the whole file."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match[1] == match[2] == "":
        return None  # several ranges or a form this server does not know: send it all
    if match[1] == "":
        suffix = int(match[2])
        return (max(0, size - suffix), size) if suffix > 0 else _UNSATISFIABLE
    start = int(match[1])
    end = size if match[2] == "" else min(size, int(match[2]) + 1)
    if start >= size or start >= end:
        return _UNSATISFIABLE
    return start, end


async def serve(
    request: web.Request, media: MediaFile, *, cut: bool = False, trickle: float = 0.0
) -> web.StreamResponse:
    """
    Answer a GET or HEAD with Content-Length, honouring one ``Range`` (206) and ``If-Range``.

    ``cut`` closes the connection half way through the body; ``trickle`` spreads it over
    that many seconds.
    """
    size = media.size
    wanted = _byte_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != media.etag:
        wanted = None
    headers = {"Accept-Ranges": "bytes", "ETag": media.etag}
    if wanted == _UNSATISFIABLE:
        headers["Content-Range"] = f"bytes */{size}"
        return web.Response(status=416, headers=headers)
    start, end = wanted or (0, size)
    response = web.StreamResponse(status=200 if wanted is None else 206, headers=headers)
    if wanted is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response.content_type = media.content_type
    response.content_length = end - start
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    stop = start + (end - start) // 2 if cut else end
    steps = _TRICKLE_PIECES if trickle > 0 else 1
    for step in range(steps):
        if trickle > 0:
            await asyncio.sleep(trickle / steps)
        low = start + (stop - start) * step // steps
        high = start + (stop - start) * (step + 1) // steps
        for piece in media.chunks(low, high):
            await response.write(piece)
    if cut:
        transport = request.transport
        if transport is not None:
            transport.close()
        return response
    await response.write_eof()
    return response
