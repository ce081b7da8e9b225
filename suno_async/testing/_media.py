"""Tiny but valid media files, so clients that sniff or decode downloads are exercised."""

from __future__ import annotations

import struct
import zlib

__all__ = ["MEDIA_TYPES", "media_for"]


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
    "png": ("image/png", _png()),
    "wav": ("audio/wav", _wav()),
}


def media_for(name: str) -> tuple[str, bytes] | None:
    """Serve by suffix alone: every URL the server hands out names a task, not a stored file."""
    _, dot, suffix = name.rpartition(".")
    if not dot:
        return None
    return MEDIA_TYPES.get(suffix.lower())
