"""
The command line in a process whose files cannot grow past 4 KiB once it gets SIGUSR1.

    python tests/cli_child.py bulk FILE --out DIR ...

The kernel then refuses every write past that size (RLIMIT_FSIZE; Python ignores the
SIGXFSZ that comes with it), as a full disk refuses them: SQLite's commits fail on the real
write path, with no root, no mount and no fake file system. The downloads of the fake's
media (a few KiB each) still fit.
"""

from __future__ import annotations

import resource
import signal
import sys

from suno_async.cli import main

#: Below one SQLite page and its rollback record, above the fake's small media files.
LIMIT = 4096


def _limit(signum: int, frame: object) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _limit)
    sys.exit(main(sys.argv[1:]))
