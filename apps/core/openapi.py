"""OpenAPI helpers shared by every view: the problem document and its responses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.CharField(help_text="Stable machine-readable error code."),
        "request_id": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Field name to messages.",
        ),
    },
)


def problem(description: str) -> OpenApiResponse:
    """An ``application/problem+json`` response."""
    return OpenApiResponse(response=ProblemSerializer, description=description)


PROBLEM_RESPONSES = {
    400: problem("Invalid input (see `errors`)."),
    401: problem("Missing, invalid or other-agency credentials."),
    403: problem("Not allowed for this caller."),
    429: problem("Too many requests (see `Retry-After`)."),
}
