"""
``suno-async mcp``: the SDK as an MCP server, so AI agents can make songs under the money
rules the operator sets at launch.

It needs the ``mcp`` extra (``pip install 'suno-async[mcp]'``); ``import suno_async`` never
imports this package. The tools are in ``_tools``, their work in ``_service``, the ledger of
paid calls in ``_ledger``, the launch in ``_server``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until its host hangs up; returns the exit code."""
    # Imported here, not at the top: a missing extra is then one line, not a traceback.
    try:
        import anyio  # noqa: PLC0415

        from ._server import parse, serve  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover  (the extra is part of the test setup)
        print(
            f"suno-async mcp needs the mcp extra ({exc.name} is missing): "
            "pip install 'suno-async[mcp]'",
            file=sys.stderr,
        )
        return 3
    from .._errors import SunoError  # noqa: PLC0415
    from ..cli._exit import ExitCode, exit_code_for  # noqa: PLC0415
    from ._ledger import LedgerError  # noqa: PLC0415

    args = parse(sys.argv[2:] if argv is None else argv)
    try:
        anyio.run(serve, args)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except (SunoError, LedgerError, OSError) as exc:
        code = exit_code_for(exc) if isinstance(exc, SunoError) else ExitCode.CONFIG
        print(f"suno-async mcp: {' '.join(str(exc).split())}", file=sys.stderr)
        return int(code)
    return 0
