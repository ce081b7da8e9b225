"""Media links that expire: signed ``expires=`` and ``token=`` on every media URL of a row.

Rows of finished tasks are cached as text without any signature; each answer signs the
URLs in it for the expiry window it falls in. A window lasts ``ttl`` simulated seconds and
the first one starts when the task finishes, so a link expires an hour (by default) after
the task finished, and asking the task again after that gives a fresh link with a later
``expires``. The media route refuses a link past its ``expires``, or with a wrong token,
with ``refusal_status`` (403 by default, as a CDN's signed links do).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from typing import Final

__all__ = ["LinkSigner"]

_MEDIA_PATH: Final = re.compile(r"(/media/[^\"?\\/]+)(?=[\"\\])")


class LinkSigner:
    """Signs media URLs for an expiry window, and checks a signed link when it is fetched."""

    def __init__(self, secret: bytes, ttl: float) -> None:
        self._secret = secret
        self.ttl = ttl

    def expires(self, done_at: float, now: float) -> int:
        """The end of the window ``now`` falls in; windows start at ``done_at``."""
        windows = max(0, math.floor((now - done_at) / self.ttl)) + 1
        return math.ceil(done_at + windows * self.ttl)

    def token(self, path: str, expires: int) -> str:
        message = f"{path}?{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def sign(self, text: str, expires: int) -> str:
        """Every media URL in ``text`` (JSON, maybe nested in JSON strings), signed."""

        def signed(match: re.Match[str]) -> str:
            path = match[1]
            return f"{path}?expires={expires}&token={self.token(path, expires)}"

        return _MEDIA_PATH.sub(signed, text)

    def valid(self, path: str, expires: str | None, token: str | None, now: float) -> bool:
        """
        Whether a link may be served now. A URL without a signature (made by hand in a
        test) is served; a signed one only before its ``expires`` and with its own token.
        """
        if expires is None and token is None:
            return True
        if expires is None or token is None or not expires.isdigit():
            return False
        good = hmac.compare_digest(token, self.token(path, int(expires)))
        return good and now < int(expires)
