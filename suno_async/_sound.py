"""
``POST /music/sound``: sound effects and loops, a request of its own beside the songs'.

Kept out of ``_models`` because the call is newer than the reference page: its rules come
from the live service's guide (``mv`` among the V5 models, ``tempo`` in BPM, a musical
``key``), and they will move as the service publishes more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs

from ._checks import check_bool, check_count, check_text, show
from ._errors import ValidationError
from ._models import GENERATION_MODELS, REMASTER_MODELS, check_model

__all__ = ["DEFAULT_SOUND_MODEL", "SOUND_MODELS", "SoundModel", "SoundRequest"]

#: Sound models (``mv``) the service is known to offer, with their Suno version.
SoundModel = Literal["chirp-fenix", "chirp-crow"]
SOUND_MODELS: Final[Mapping[str, str]] = MappingProxyType(
    {"chirp-fenix": "v5.5", "chirp-crow": "v5"}
)
#: The newer of the two the guide names, as generate defaults to the newest model.
DEFAULT_SOUND_MODEL: Final = "chirp-fenix"
#: Models that predate sounds (V4.5 and older) or remaster rather than generate: a sound
#: asked of them would be refused or, worse, paid for and failed.
_NOT_FOR_SOUNDS: Final = frozenset(
    name for name, version in GENERATION_MODELS.items() if version in ("v4", "v4.5")
) | frozenset(REMASTER_MODELS)
#: The service publishes no tempo range; 300 BPM is past any musical tempo, and a lower
#: bound above 1 would refuse a slow drone on a guess.
TEMPO_MAX: Final = 300
#: "C minor", "F# major", "Bb dorian": a note and a mode fit in far fewer characters.
KEY_MAX: Final = 20
#: The V5 limits of generate, the family every sound model belongs to.
TITLE_MAX: Final = 100
TAGS_MAX: Final = 1000
# A key starts with its note: a number here is a tempo passed in the wrong place.
_KEY = re.compile(r"[A-Ga-g][^\x00-\x1f\x7f]*")


def _fail(field: str, rule: str) -> ValidationError:
    return ValidationError(field, rule)


@attrs.frozen
class SoundRequest:
    """
    One ``POST /music/sound``: a sound effect or loop described by its style ``tags``.

    ``tempo`` (beats per minute) and ``key`` (such as ``"C minor"``) are left to the service
    when None; ``loop`` asks for a clip that repeats seamlessly.
    """

    title: str
    tags: str
    model: str = DEFAULT_SOUND_MODEL
    tempo: int | None = None
    key: str | None = None
    loop: bool = False

    def __attrs_post_init__(self) -> None:
        check_model("model", self.model, SOUND_MODELS)
        if self.model in _NOT_FOR_SOUNDS:
            raise _fail(
                "model",
                f"{self.model!r} cannot make sounds; use one of {', '.join(SOUND_MODELS)}",
            )
        check_text("title", self.title, optional=False, blank=False, limit=TITLE_MAX)
        check_text("tags", self.tags, optional=False, blank=False, limit=TAGS_MAX)
        if self.tempo is not None:
            check_count("tempo", self.tempo, minimum=1, maximum=TEMPO_MAX)
        if self.key is not None:
            check_text("key", self.key, blank=False, limit=KEY_MAX)
            key = self.key.strip()
            if not _KEY.fullmatch(key):
                raise _fail(
                    "key",
                    "must be a musical key starting with its note A to G, such as 'C minor' "
                    f"or 'F# major', got {show(self.key)}",
                )
            object.__setattr__(self, "key", key)
        check_bool("loop", self.loop)
