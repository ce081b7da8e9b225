"""
Identical requests in one bulk list: each is a paid call of its own, so the caller is warned.

Two identical requests are two songs pairs and two charges, which is sometimes meant (more
takes of one prompt) and often a pasted line twice. The run sends them as asked, after a
:class:`DuplicateRequestsWarning`: a warning rather than a log line because it is about the
caller's own input, shown once by default even with no logging set up, and a script that
means it can silence exactly this category (``warnings.simplefilter("ignore",
DuplicateRequestsWarning)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from ._journal import canonical_request
from ._models import GenerateRequest

__all__ = ["DuplicateRequestsWarning", "duplicate_groups", "warn_duplicates"]


class DuplicateRequestsWarning(UserWarning):
    """Some requests of a bulk list are identical: each one is sent and paid for."""


def duplicate_groups(requests: Sequence[GenerateRequest]) -> list[list[int]]:
    """The positions of identical requests, one list per request given more than once."""
    groups: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(canonical_request(request), []).append(index)
    return [group for group in groups.values() if len(group) > 1]


def warn_duplicates(requests: Sequence[GenerateRequest], price: int, stacklevel: int) -> None:
    """Warn, before anything is sent, about the requests that are given more than once."""
    groups = duplicate_groups(requests)
    if not groups:
        return
    extra = sum(len(group) - 1 for group in groups)
    shown = "; ".join(" = ".join(map(str, group)) for group in groups[:5])
    more = f"; and {len(groups) - 5} more group(s)" if len(groups) > 5 else ""
    warnings.warn(
        f"{extra} request(s) repeat an earlier one (requests {shown}{more}): each is sent "
        f"and paid ({price} points each). To pay once per request, pass each once, e.g. "
        "list(dict.fromkeys(requests))",
        DuplicateRequestsWarning,
        stacklevel=stacklevel + 1,
    )
