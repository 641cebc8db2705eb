"""Content negotiation that answers an unknown ``?format=`` with 406, not 404.

DRF's default raises ``Http404`` when the ``format`` query parameter (or a format suffix) names
no renderer of the view: a valid address then looks missing. The format cannot be given, so
406 ``not_acceptable`` (declared on every operation) is the honest answer.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """``DEFAULT_CONTENT_NEGOTIATION_CLASS`` of the API."""

    def filter_renderers(self, renderers: Any, format: str) -> Any:
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            raise NotAcceptable(_("This format is not available here."))
        return matching
