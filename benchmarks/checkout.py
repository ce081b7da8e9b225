"""Make this checkout's SDK the one the benchmark and every process it starts import."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["use_this_checkout"]

ROOT = str(Path(__file__).resolve().parents[1])


def use_this_checkout() -> None:
    """
    Put the repository root first on the import path, here and (through ``PYTHONPATH``)
    in the clients and servers started later: a script's own folder comes first on the
    path, not the repository, so an SDK installed elsewhere would be measured instead.
    """
    if sys.path[:1] != [ROOT]:
        sys.path.insert(0, ROOT)
    paths = os.environ.get("PYTHONPATH", "")
    if paths.split(os.pathsep)[:1] != [ROOT]:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, paths) if p)
