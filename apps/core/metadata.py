"""What ``OPTIONS`` answers on every API route.

DRF's ``SimpleMetadata`` describes the input fields of ``POST``/``PUT`` by building the view's
serializer, which assumes every view has one: the staff action routes (a ``GenericViewSet``
whose actions each pick their own input serializer) answered ``OPTIONS`` with a 500. The
OpenAPI schema (``/api/schema/``) is the description of every field, so ``OPTIONS`` answers
what it can answer for any view without running it: the name, the description, and the media
types the view renders and parses. ``Allow`` (set by the view) lists the methods.
"""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request


class APIMetadata(SimpleMetadata):
    """``OPTIONS`` metadata that never builds a serializer nor reads an object."""

    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }
