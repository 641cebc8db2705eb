"""OpenAPI helpers shared by every view: the problem document and its responses.

Views declare the errors particular to them with :func:`problem`; what every operation can
answer (bad credentials, throttling, an unavailable security store, ...) is added by the
postprocessing hooks of :mod:`apps.core.openapi_hooks`, which also give every error response
its ``application/problem+json`` media type. Every description is a lazy translation: the
schema is generated in the language of the request (``Accept-Language`` or ``?lang=``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(
            help_text=_("URI identifying the kind of problem; it ends with `code`.")
        ),
        "title": serializers.CharField(
            help_text=_("Short summary of the HTTP status, in the language of the request.")
        ),
        "status": serializers.IntegerField(help_text=_("The HTTP status code, repeated.")),
        "detail": serializers.CharField(
            help_text=_("Explanation for a person, in the language of the request.")
        ),
        "code": serializers.CharField(
            help_text=_("Stable machine-readable error code: branch on this, not on `detail`.")
        ),
        "request_id": serializers.CharField(
            help_text=_("Identifier of the request in the platform's logs: quote it to support.")
        ),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text=_(
                "Field name (dotted for nested fields, e.g. `form_data.birth_date`) to its "
                "messages; present on validation errors."
            ),
        ),
    },
)


def problem(description: Any) -> OpenApiResponse:
    """An ``application/problem+json`` response (the media type is set by the schema hooks)."""
    return OpenApiResponse(response=ProblemSerializer, description=description)


PROBLEM_RESPONSES = {
    400: problem(_("Invalid input (see `errors`).")),
    401: problem(_("Missing, invalid or other-agency credentials.")),
    403: problem(_("Not allowed for this caller.")),
    429: problem(_("Too many requests (see `Retry-After`).")),
}
