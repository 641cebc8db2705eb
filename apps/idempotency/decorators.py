"""``@idempotent``: the Idempotency-Key contract on a DRF action.

Usage::

    from apps.idempotency.decorators import idempotent

    class SomeViewSet(viewsets.ViewSet):
        @extend_schema(..., responses={201: Out, **IDEMPOTENCY_RESPONSES, **PROBLEM_RESPONSES})
        @idempotent(scope="application_submit", required=True)
        def submit(self, request, pk=None): ...   # a normal action returning a Response

Semantics (see ``apps.idempotency.services``): header ``Idempotency-Key`` of 1–255 visible
ASCII characters; missing and required → 400 ``idempotency_key_required``; malformed → 400
``idempotency_key_invalid``; a retry with the same body after completion replays the first
answer (header ``Idempotent-Replayed: true``) without running the view; another body → 422
``idempotency_key_reused``; a retry while the first runs → 409 ``idempotency_in_progress``.
The view runs inside ``transaction.atomic`` with the durable record, so it must put side
effects (tasks, emails) in ``transaction.on_commit``. Error answers (status ≥ 400) are not
stored: the client may correct the request and retry with the same key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.openapi import problem
from apps.idempotency.errors import IdempotencyKeyRequired
from apps.idempotency.services import (
    HEADER,
    KEY_PATTERN,
    caller_identity,
    idempotent_execute,
    parse_key,
    request_fingerprint,
)

ViewMethod = TypeVar("ViewMethod", bound=Callable[..., Response])

# Add these to an idempotent action's @extend_schema responses.
IDEMPOTENCY_RESPONSES = {
    409: problem(
        _("A request with this Idempotency-Key is still running (idempotency_in_progress).")
    ),
    422: problem(_("The Idempotency-Key was used with another request (idempotency_key_reused).")),
}

# The header's format as parse_key checks it (visible ASCII, 1 to 255 characters).
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN}


def idempotent(*, scope: str, required: bool = True) -> Callable[[ViewMethod], ViewMethod]:
    """Make a DRF action idempotent under ``scope`` (a short stable name, e.g. ``register``)."""
    if not scope or len(scope) > 64:
        raise ValueError("idempotency scope must be 1 to 64 characters")

    def decorator(view_method: ViewMethod) -> ViewMethod:
        @functools.wraps(view_method)
        def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = parse_key(request.headers.get(HEADER))
            if key is None:
                if required:
                    raise IdempotencyKeyRequired()
                return view_method(self, request, *args, **kwargs)
            return idempotent_execute(
                scope=scope,
                caller=caller_identity(request),
                key=key,
                fingerprint=request_fingerprint(request),
                run=lambda: view_method(self, request, *args, **kwargs),
            )

        parameter = OpenApiParameter(
            name=HEADER,
            type=KEY_SCHEMA,
            location=OpenApiParameter.HEADER,
            required=required,
            description=_(
                "1–255 visible ASCII characters (a UUID is a good choice). A retry with the same "
                "key and body replays the first answer (header Idempotent-Replayed: true) for "
                "24 hours; the same key with another body is 422; while the first request is "
                "still running, 409."
            ),
            examples=[OpenApiExample("uuid", value="0b8f5c1e-4d6a-4f3b-9a2e-7c1d5e8f9a0b")],
        )
        return cast(ViewMethod, extend_schema(parameters=[parameter])(wrapper))

    return decorator
