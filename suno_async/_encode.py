"""
Requests as the wire names them: the JSON body of each paid POST.

Reading answers and writing requests are two jobs, so this one lives apart from
``_convert``; it registers its hooks on that module's one converter, which still owns the
whole wire format (``converter.unstructure(request)`` writes the same body).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._convert import converter
from ._models import (
    AlignedLyricsRequest,
    ConvertWavRequest,
    CropRequest,
    GenerateRequest,
    RemasterRequest,
    SpeedRequest,
    UploadRequest,
    VideoRequest,
    WholeSongRequest,
)
from ._sound import SoundRequest

__all__ = ["encode_request"]


def _drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _encode_generate(request: GenerateRequest) -> dict[str, Any]:
    sliders = _drop_none(
        {"style_weight": request.style_weight, "weirdness_constraint": request.weirdness}
    )
    metadata = _drop_none(
        {
            "vocal_gender": request.vocal_gender,
            "control_sliders": sliders or None,
            "audio_weight": request.audio_weight,
        }
    )
    return _drop_none(
        {
            "gpt_description_prompt": request.description,
            "prompt": request.lyrics,
            "tags": request.tags,
            "negative_tags": request.negative_tags,
            "mv": request.model,
            "title": request.title,
            "make_instrumental": request.instrumental,
            "task": request.task,
            "continue_clip_id": request.continue_clip_id,
            "continue_at": request.continue_at,
            "cover_clip_id": request.cover_clip_id,
            "metadata": metadata or None,
        }
    )


_REQUEST_RENAMES: Final[Mapping[type, Mapping[str, str]]] = {
    RemasterRequest: {"model": "model_name", "variation": "variation_category"},
    CropRequest: {"start_s": "crop_start_s", "end_s": "crop_end_s"},
    SpeedRequest: {"multiplier": "speed_multiplier"},
    SoundRequest: {"model": "mv"},
}


def encode_request(request: object) -> dict[str, Any]:
    """The JSON body of a POST, named as the wire names it; unset options are left out."""
    if isinstance(request, GenerateRequest):
        return _encode_generate(request)
    renames = _REQUEST_RENAMES.get(type(request), {})
    fields = attrs.asdict(request, recurse=False)  # type: ignore[arg-type]
    return _drop_none({renames.get(k, k): v for k, v in fields.items()})


for _request_cls in (
    GenerateRequest,
    UploadRequest,
    WholeSongRequest,
    AlignedLyricsRequest,
    RemasterRequest,
    VideoRequest,
    ConvertWavRequest,
    CropRequest,
    SpeedRequest,
    SoundRequest,
):
    converter.register_unstructure_hook(_request_cls, encode_request)
