"""Which proxy a request goes through: the one given, else the environment's, as curl has it.

``HTTPS_PROXY``, ``HTTP_PROXY`` and ``ALL_PROXY`` (either case) name the proxy per scheme and
``NO_PROXY`` lists hosts that go direct, as curl, httpx and the standard library read them.
Loopback hosts always go direct when the proxy comes from the environment (as Go's
``ProxyFromEnvironment`` does), so a fake server on 127.0.0.1 works behind a corporate proxy.
Only the proxy variables are read: never ``.netrc``, so no stored credentials reach a request.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.request
from typing import Final

from yarl import URL

from ._checks import show
from ._errors import ConfigurationError

__all__ = ["ProxyChoice", "check_proxy"]

_SCHEMES: Final = frozenset({"http", "https"})
_USERINFO: Final = re.compile(r"(//[^/@]*?:)[^/]*@")


def check_proxy(value: object, field: str = "proxy") -> URL | None:
    """A proxy URL checked before any request: http(s) only, with a host."""
    if value is None:
        return None
    if not isinstance(value, (str, URL)):
        msg = f"{field} must be a URL such as 'http://proxy.example:3128', got {show(value)}"
        raise ConfigurationError(msg)
    try:
        url = URL(str(value).strip())
    except ValueError as exc:
        msg = f"{field} is not a valid URL: {_shown(str(value))}"
        raise ConfigurationError(msg) from exc
    if url.scheme.lower() not in _SCHEMES or not url.host:
        msg = (
            f"{field} must be an http:// or https:// proxy with a host (SOCKS is not "
            f"supported), got {_shown(str(value))}"
        )
        raise ConfigurationError(msg)
    return url


def _shown(text: str) -> str:
    """A proxy URL for a message, any password in it hidden, even where it does not parse."""
    return show(_USERINFO.sub(r"\1***@", text))


def _loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, entry: str) -> bool:
    """Whether a ``NO_PROXY`` entry (``*``, a domain, ``.domain``, an IP, a CIDR) covers host."""
    host = host.strip("[]")
    if entry == "*":
        return True
    if "/" in entry:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    name = entry
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    name = name.strip(".")
    return host == name or host.endswith(f".{name}")


class ProxyChoice:
    """
    The proxy for each URL: ``proxy`` for every request when given; else, with
    ``trust_env``, the environment's as read when the session was made.
    """

    def __init__(self, proxy: URL | None, *, trust_env: bool) -> None:
        self._explicit = proxy
        found = urllib.request.getproxies_environment() if trust_env and proxy is None else {}
        self._bypass = tuple(
            entry.strip().lower() for entry in found.get("no", "").split(",") if entry.strip()
        )
        # Checked now, so a proxy variable we cannot follow is refused before any request.
        self._environment: dict[str, URL] = {}
        for scheme in ("http", "https", "all"):
            raw = found.get(scheme)
            checked = None if raw is None else check_proxy(raw, f"{scheme.upper()}_PROXY")
            if checked is not None:
                self._environment[scheme] = checked

    def __repr__(self) -> str:
        shown = "explicit" if self._explicit is not None else sorted(self._environment)
        return f"<ProxyChoice {shown}>"

    def for_url(self, url: URL) -> URL | None:
        """The proxy to reach ``url`` through, or None to go direct."""
        if self._explicit is not None:
            return self._explicit
        env = self._environment
        if not env:
            return None
        host = url.host or ""
        if _loopback(host) or any(_bypassed(host.lower(), entry) for entry in self._bypass):
            return None
        return env.get(url.scheme.lower()) or env.get("all")
