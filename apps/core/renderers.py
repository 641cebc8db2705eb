"""JSON rendering for the API (orjson: fast, UTF-8, no ASCII escaping of French text).

Rendering never fails on text: a string that cannot be encoded as UTF-8 (a lone surrogate, say
echoed back inside an error message) is written with U+FFFD in its place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.encoders import JSONEncoder

SURROGATES = re.compile("[\ud800-\udfff]")


def encodable(value: Any) -> Any:
    """``value`` with every lone surrogate of its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str | Promise):
        return SURROGATES.sub("\ufffd", str(value))
    if isinstance(value, Mapping):
        return {encodable(key): encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(item) for item in value]
    return value


class JSONRenderer(DRFJSONRenderer):
    """Render with orjson; falls back to DRF's encoder for types orjson does not know."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an unknown type, or text that is not UTF-8
            pass
        data = encodable(data)
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:  # text from a type only DRF's encoder knows
            return json.dumps(data, cls=JSONEncoder, ensure_ascii=True).encode("ascii")
