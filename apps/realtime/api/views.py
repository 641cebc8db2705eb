"""Server-Sent Events: the same streams as ``/ws/v1/`` for networks that block WebSockets.

``GET /api/v1/events/?stream=...`` with the usual ``Authorization: Bearer`` header (never a
token in the URL; browsers use ``fetch`` with a streamed body, since ``EventSource`` cannot
send the header) and ``Last-Event-ID`` to resume. Authentication and stream rules are the
WebSocket's (``apps.realtime.auth.realtime_authenticate``).

Served by the ASGI gateway (nginx routes ``/api/v1/events/`` to it): the stream then waits on
the process's hub without holding a thread, for up to ``REALTIME_SSE_MAX_SECONDS``. When a
WSGI worker answers instead (a direct call to gunicorn), the stream polls the log and ends
after ``REALTIME_SSE_WSGI_SECONDS``, so it never holds a worker for long; either way the
client reconnects with ``Last-Event-ID`` and misses nothing. The stream also ends when the
token expires (``event: close`` with the WebSocket close code first).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from apps.core.errors import (
    InvalidInput,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from apps.core.openapi import problem
from apps.core.renderers import JSONRenderer
from apps.core.tenancy import current_schema
from apps.realtime.auth import AuthRefused, Principal, realtime_authenticate
from apps.realtime.events import EVENT_QUEUE_CHANGED, EVENT_STATUS_CHANGED, event_payload
from apps.realtime.hub import get_hub, stream_filter
from apps.realtime.protocol import CloseCode, Stream
from apps.realtime.selectors import (
    StreamFilter,
    application_is_citizens,
    event_list_for_stream,
    event_log_last_id,
)

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000


# One event of the stream, as SSE parsers (and OpenAPI 3.2's itemSchema) see it.
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The event id (send it back as Last-Event-ID)."},
        "event": {
            "type": "string",
            "description": "The event's name (events carry an id; the others are signals).",
            "enum": [
                EVENT_STATUS_CHANGED,
                EVENT_QUEUE_CHANGED,
                "subscribed",
                "caught_up",
                "resync_required",
                "close",
            ],
        },
        "data": {"type": "string", "description": "JSON: the payload described in asyncapi.yml."},
        "retry": {"type": "integer", "description": "Milliseconds to wait before reconnecting."},
    },
}


class EventStreamRenderer(BaseRenderer):
    """``text/event-stream`` (the body is streamed by the view, never rendered here)."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data, default=str).encode()


class EventStreamQuerySerializer(serializers.Serializer):
    """The query of ``GET /api/v1/events/``."""

    stream = serializers.ChoiceField(
        choices=list(Stream.ALL),
        help_text=_(
            "queue: the agency's queue (staff, agency host); applications: the citizen's "
            "applications (every agency on the public host); application: one of them."
        ),
    )
    application_id = serializers.UUIDField(
        required=False, help_text=_("The application to follow (stream=application).")
    )


def sse_frame(frame: dict[str, Any]) -> str:
    """One hub frame as SSE text: events carry ``id:`` (the ``Last-Event-ID`` to resume from)."""
    if frame["type"] == "event":
        data = json.dumps(frame["data"], separators=(",", ":"), ensure_ascii=False)
        return f"id: {frame['id']}\nevent: {frame['event']}\ndata: {data}\n\n"
    body = {key: value for key, value in frame.items() if key != "type"}
    return f"event: {frame['type']}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def _close_frame(code: CloseCode) -> str:
    return sse_frame({"type": "close", "code": int(code), "reason": code.name.lower()})


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("Last-Event-ID", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(
            _("Last-Event-ID must be an event id."),
            errors={"Last-Event-ID": [str(_("Send the id of the last event received."))]},
        )
    return int(raw)


class SSESink:
    """An SSE response as the hub sees it (``apps.realtime.hub.Sink``)."""

    transport = "sse"

    def __init__(self, principal: Principal, schema: str, raw_token: str) -> None:
        self.principal: Principal | None = principal
        self.schema = schema
        self.raw_token = raw_token
        self.source = ""
        self.connection_id = uuid.uuid4().hex
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(
            int(settings.REALTIME_SEND_BUFFER)
        )
        self.closed_with: CloseCode | None = None

    def push(self, frame: dict[str, Any]) -> bool:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def close_soon(self, code: CloseCode) -> None:
        if self.closed_with is None:
            self.closed_with = code
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait({"type": "__close__"})


async def asgi_stream(
    principal: Principal, schema: str, raw_token: str, stream: StreamFilter, since: int | None
) -> AsyncIterator[str]:
    """The stream under ASGI: fed by the process's hub."""
    deadline = min(
        time.monotonic() + float(settings.REALTIME_SSE_MAX_SECONDS),
        time.monotonic() + max(0.0, principal.expires_at - time.time()),
    )
    sink = SSESink(principal, schema, raw_token)
    hub = get_hub()
    hub.attach(sink)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        await hub.subscribe(sink, stream, since=since)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                expired = principal.expires_at <= time.time()
                yield _close_frame(
                    CloseCode.TOKEN_EXPIRED if expired else CloseCode.TRY_AGAIN_LATER
                )
                return
            try:
                frame = await asyncio.wait_for(
                    sink.queue.get(), timeout=min(KEEPALIVE_SECONDS, remaining)
                )
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if frame["type"] == "__close__":
                yield _close_frame(sink.closed_with or CloseCode.TRY_AGAIN_LATER)
                return
            yield sse_frame(frame)
    finally:
        hub.detach(sink)


def wsgi_stream(
    principal: Principal, stream: StreamFilter, since: int | None, *, language: str
) -> Iterator[str]:
    """The stream under WSGI: polls the log, ends after ``REALTIME_SSE_WSGI_SECONDS``."""
    started = time.monotonic()
    deadline = started + min(
        float(settings.REALTIME_SSE_WSGI_SECONDS), max(0.0, principal.expires_at - time.time())
    )
    last = event_log_last_id() if since is None else since
    audience = stream.audience
    name = EVENT_QUEUE_CHANGED if audience == "staff" else EVENT_STATUS_CHANGED
    yield f"retry: {RETRY_MS}\n\n"
    yield sse_frame({"type": "subscribed", "stream": stream.stream, "last_id": last})
    next_keepalive = started + KEEPALIVE_SECONDS
    while True:
        events = event_list_for_stream(stream=stream, after=last, limit=100)
        for event in events:
            data = event_payload(event, audience=audience, language=language)
            yield sse_frame({"type": "event", "id": event.id, "event": name, "data": data})
            last = event.id
        now = time.monotonic()
        if now >= deadline:
            expired = principal.expires_at <= time.time()
            yield _close_frame(CloseCode.TOKEN_EXPIRED if expired else CloseCode.TRY_AGAIN_LATER)
            return
        if now >= next_keepalive:
            next_keepalive = now + KEEPALIVE_SECONDS
            yield ": keep-alive\n\n"
        if len(events) < 100:
            time.sleep(min(float(settings.REALTIME_POLL_SECONDS), max(0.0, deadline - now)))


class EventStreamViewSet(viewsets.ViewSet):
    """The real-time streams over Server-Sent Events."""

    # The token is checked by realtime_authenticate (the WebSocket's rules) in the action.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    renderer_classes = (JSONRenderer, EventStreamRenderer)

    @extend_schema(
        operation_id="events_stream",
        summary=_("Follow application events as Server-Sent Events"),
        description=_(
            "The fallback of the WebSocket gateway (/ws/v1/, see asyncapi.yml and "
            "docs/realtime.md) for networks that block WebSockets. Each event has an id: "
            "reconnect with the Last-Event-ID header to receive what you missed, then live "
            "events. Delivery is at least once: drop ids already seen. The response ends when "
            "the token expires or after a while (event: close, with the WebSocket close code); "
            "reconnect with a valid token and Last-Event-ID."
        ),
        parameters=[
            EventStreamQuerySerializer,
            # The renderer pair (problem documents, the stream) is not a choice for clients.
            OpenApiParameter("format", exclude=True),
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=False,
                description=_("The id of the last event received: resume after it."),
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=SSE_EVENT_SCHEMA,
                description=_(
                    "An endless text/event-stream: events application.status_changed "
                    "(citizens) or queue.changed (staff) whose data is the JSON payload of "
                    "asyncapi.yml, plus subscribed, caught_up, resync_required and close."
                ),
            ),
            400: problem(_("A query parameter or the Last-Event-ID header is not valid.")),
            401: problem(_("The token is missing, invalid, expired or revoked.")),
            403: problem(_("This token cannot follow this stream here.")),
            404: problem(_("No such application among yours.")),
            503: problem(_("A part the stream needs is unavailable.")),
        },
        tags=["events"],
        auth=[{"bearerAuth": []}],  # type: ignore[list-item]  # spectacular takes requirements
    )
    def stream(self, request: Request) -> StreamingHttpResponse:
        query = EventStreamQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since = _last_event_id(request)
        schema = current_schema()
        raw_token = _bearer(request)
        language = "en" if str(getattr(request, "LANGUAGE_CODE", "fr")).startswith("en") else "fr"
        principal = _principal(raw_token, language)
        name = query.validated_data["stream"]
        if (name == Stream.QUEUE) != (principal.kind == "staff"):
            raise PermissionDeniedError(_("This token cannot follow this stream here."))
        application_id = query.validated_data.get("application_id")
        if name == Stream.APPLICATION and application_id is None:
            raise InvalidInput(
                _("application_id is required with stream=application."),
                errors={"application_id": [str(_("This field is required."))]},
            )
        selected = stream_filter(
            stream=name, principal=principal, schema=schema, application_id=application_id
        )
        if application_id is not None and not application_is_citizens(
            citizen_id=principal.user_id, application_id=application_id, agency=selected.agency
        ):
            raise NotFoundError(_("No such application among yours."))
        body: Any
        if isinstance(getattr(request, "_request", None), ASGIRequest):
            body = asgi_stream(principal, schema, raw_token, selected, since)
        else:
            body = wsgi_stream(principal, selected, since, language=language)
        response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError(_("The token is missing, invalid, expired or revoked."))
    return token.strip()


def _principal(raw_token: str, language: str) -> Principal:
    try:
        return realtime_authenticate(raw_token, language=language)
    except AuthRefused as refused:
        if refused.close_code == CloseCode.TRY_AGAIN_LATER:
            raise ServiceUnavailableError(
                _("The service is unavailable, try again later.")
            ) from refused
        if refused.code == "stream_forbidden":
            raise PermissionDeniedError(
                _("This token cannot follow this stream here.")
            ) from refused
        # As the REST API answers: 401 with the token's problem (token_wrong_agency...).
        raise NotAuthenticatedError(
            _("The token is missing, invalid, expired or revoked."), code=refused.code
        ) from refused
