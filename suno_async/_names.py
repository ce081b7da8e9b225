"""
Safe file names for downloads: readable titles, nothing that can escape or break a folder.

Kept apart from the download machinery because it is pure text work, tested on its own.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from ._errors import ValidationError

__all__ = ["check_filename", "safe_filename"]

#: Common filesystems (ext4, APFS, NTFS, btrfs) cap one name at 255 bytes (units for NTFS).
NAME_MAX_BYTES: Final = 255

#: Forbidden on Windows, or a separator somewhere: each becomes "_".
_FORBIDDEN: Final = frozenset('/\\:*?"<>|')
#: Invisible characters that reorder text, used to disguise an extension ("mp3.exe").
_BIDI: Final = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Marks that only make sense after another character: a cut must not end on one.
_JOINERS: Final = frozenset("\u200d\ufe0e\ufe0f")
#: Device names Windows reserves whatever the extension ("CON.mp3" opens the console).
_RESERVED: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)
_DOTS: Final = re.compile(r"\.{2,}")
_EXT: Final = re.compile(r"[^a-z0-9]")


def _clean(text: str) -> str:
    """NFC text with separators, controls and dot runs made harmless, trimmed at both ends."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _FORBIDDEN:
            out.append("_")
        elif char in _BIDI:
            continue
        elif unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"}:
            out.append(" ")
        else:
            out.append(char)
    cleaned = " ".join("".join(out).split())
    return _DOTS.sub(".", cleaned).strip(" .")


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the character before it (a mark, joiner or skin tone)."""
    return (
        char in _JOINERS
        or unicodedata.combining(char) != 0
        or "\U0001f3fb" <= char <= "\U0001f3ff"
        or "\U000e0020" <= char <= "\U000e007f"
    )


def _cut(text: str, budget: int) -> str:
    """At most ``budget`` UTF-8 bytes of ``text``, cut between whole (emoji) characters."""
    if len(text.encode()) <= budget:
        return text
    end = len(text.encode()[: max(budget, 0)].decode(errors="ignore"))
    while end > 0 and (_extends(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end].rstrip(" .")


def _unreserved(name: str) -> str:
    if name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        return f"_{name}"
    return name


def safe_filename(
    title: str | None,
    *,
    task_id: int | None = None,
    ext: str | None = None,
    max_bytes: int = NAME_MAX_BYTES,
) -> str:
    """
    A file name made from a song title that is safe on Linux, macOS and Windows.

    ``{task_id}-{title}.{ext}`` by default: a generation's two songs share their title, so
    the id keeps them apart. Separators and characters Windows forbids become ``_``; control
    and bidi characters, runs of dots and leading or trailing dots and spaces go; reserved
    device names (``CON``, ``NUL``, ``COM1``...) get a ``_`` in front; Unicode stays readable
    (NFC). The name fits in ``max_bytes`` UTF-8 bytes: the title is cut (on a character
    boundary), never the id or the extension.
    """
    ext_part = _EXT.sub("", (ext or "").lower())[:16]
    suffix = f".{ext_part}" if ext_part else ""
    body = _clean(title or "")
    prefix = "" if task_id is None else str(task_id)
    if prefix and body:
        prefix += "-"
    room = max_bytes - len(prefix.encode()) - len(suffix)
    name = _unreserved((prefix + _cut(body, room) or "download") + suffix)
    if len(name.encode()) > max_bytes:  # the "_" in front of a reserved name needs a byte
        name = _unreserved((prefix + _cut(body, room - 1) or "download") + suffix)
    return name


def check_filename(filename: object) -> str:
    """A caller's own file name, refused unless it is one plain, portable name."""
    if not isinstance(filename, str) or not filename.strip():
        raise ValidationError("filename", f"must be a non-empty file name, got {filename!r}")
    problem = ""
    if any(char in "/\\" for char in filename):
        problem = "holds a folder separator: pass the folder as dest and only the name here"
    elif any(char in _FORBIDDEN for char in filename):
        problem = 'holds a character Windows forbids in names (:*?"<>|)'
    elif filename.strip(" .") != filename or _DOTS.search(filename):
        problem = "starts or ends with a dot or space, or holds '..'"
    elif any(unicodedata.category(char) in {"Cc", "Cs"} or char in _BIDI for char in filename):
        problem = "holds control or bidi characters"
    elif len(filename.encode()) > NAME_MAX_BYTES:
        problem = f"is longer than {NAME_MAX_BYTES} bytes"
    elif _unreserved(filename) != filename:
        problem = "is a device name Windows reserves"
    if problem:
        hint = "; suno_async.safe_filename() makes a safe one"
        raise ValidationError("filename", f"{filename!r} {problem}{hint}")
    return filename
