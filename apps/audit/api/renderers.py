"""JSON Lines rendering for the export (errors on that route render as one JSON line)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer

NDJSON = "application/x-ndjson"


class NDJSONRenderer(BaseRenderer):
    """``application/x-ndjson``: one JSON document per line."""

    media_type = NDJSON
    format = "ndjson"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS) + b"\n"
