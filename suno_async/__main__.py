"""``python -m suno_async``: the same command as ``suno-async`` (see ``suno_async.cli``)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
