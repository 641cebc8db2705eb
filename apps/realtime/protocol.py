"""The wire protocol of ``/ws/v1/``: close codes, frames, streams and limits.

This module is the source the AsyncAPI document (``asyncapi.yml``) is generated from
(``manage.py realtime_asyncapi``); ``tests/realtime/test_asyncapi.py`` fails when the committed
file and these definitions differ. Every frame is a JSON object with a ``type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

# The subprotocol a client names (and the server answers with). A client may also pass its
# access token as a second subprotocol ``guichet.token.<jwt>``; the server never echoes it.
SUBPROTOCOL = "guichet.v1"
TOKEN_SUBPROTOCOL_PREFIX = "guichet.token."  # noqa: S105 - a prefix, not a secret


class CloseCode(IntEnum):
    """Why the server closed the connection (WebSocket close codes, RFC 6455 private range)."""

    TRY_AGAIN_LATER = 1013  # a part the gateway needs is unavailable: reconnect with backoff
    MESSAGE_TOO_BIG = 1009  # a frame over REALTIME_MAX_FRAME_BYTES
    BAD_REQUEST = 4400  # the first frame was not a valid ``auth`` frame
    UNAUTHENTICATED = 4401  # no token, or an invalid or expired one at connection time
    FORBIDDEN = 4403  # a token of another agency, or of a kind with no stream here
    AUTH_TIMEOUT = 4408  # no ``auth`` frame within REALTIME_AUTH_TIMEOUT_SECONDS
    TOO_MANY_CONNECTIONS = 4429  # per person or per source address, counted in the hot-key store
    TOO_MANY_ERRORS = 4430  # repeated bad frames or a subscription flood
    SLOW_CONSUMER = 4431  # the client does not read fast enough: reconnect and resume
    TOKEN_EXPIRED = 4440  # the access token expired: refresh it, reconnect and resume
    TOKEN_REVOKED = 4441  # logged out, password changed, person deactivated: sign in again


CLOSE_CODE_DESCRIPTIONS: dict[CloseCode, str] = {
    CloseCode.TRY_AGAIN_LATER: "A part the gateway needs is unavailable; reconnect with backoff.",
    CloseCode.MESSAGE_TOO_BIG: "A frame was larger than the limit.",
    CloseCode.BAD_REQUEST: "The first frame was not a valid auth frame.",
    CloseCode.UNAUTHENTICATED: "No token, or an invalid or expired token, at connection time.",
    CloseCode.FORBIDDEN: "A token of another agency, or of a kind that has no stream here.",
    CloseCode.AUTH_TIMEOUT: "No auth frame in time.",
    CloseCode.TOO_MANY_CONNECTIONS: "Too many connections for this person or source address.",
    CloseCode.TOO_MANY_ERRORS: "Too many bad frames or subscriptions in a short time.",
    CloseCode.SLOW_CONSUMER: "The client did not read its events fast enough; resume.",
    CloseCode.TOKEN_EXPIRED: "The access token expired; refresh it, reconnect and resume.",
    CloseCode.TOKEN_REVOKED: "The access token was revoked; sign in again.",
}


class Stream:
    """What a subscription follows."""

    QUEUE = "queue"  # staff: their agency's queue (agency host)
    APPLICATIONS = "applications"  # citizen: all their applications (public host: every agency)
    APPLICATION = "application"  # citizen: one application of theirs

    ALL = (QUEUE, APPLICATIONS, APPLICATION)


# Error codes of ``error`` frames (the connection stays open).
ERROR_CODES: dict[str, Any] = {
    "malformed_frame": _("The frame is not a JSON object with a known type."),
    "unknown_stream": _("No such stream."),
    "stream_forbidden": _("This token cannot follow this stream here."),
    "not_found": _("No such application among yours."),
    "invalid_since": _("since must be a non-negative integer."),
    "too_many_subscriptions": _("Too many subscriptions on this connection."),
    "rate_limited": _("Too many subscriptions in a short time."),
    "unknown_subscription": _("No such subscription on this connection."),
    "token_mismatch": _("A new token must be for the same person and kind."),
    "service_unavailable": _("The service is unavailable, try again later."),
}


@dataclass(frozen=True)
class Frame:
    """One frame type: its direction, what it is for and its fields (name -> JSON schema)."""

    type: str
    direction: str  # "client" (sent by the client) or "server"
    summary: str
    fields: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()


_ID = {"type": "integer", "minimum": 0, "description": "Event id: monotonic, for resuming."}
_SUB = {"type": "string", "description": "Subscription id chosen by the server."}

FRAMES: tuple[Frame, ...] = (
    Frame(
        "auth",
        "client",
        "Authenticate (first frame, unless the token is in the subprotocol header); sent again "
        "later with a refreshed token it extends the connection.",
        {"token": {"type": "string", "description": "An access token of the platform."}},
        ("token",),
    ),
    Frame(
        "subscribe",
        "client",
        "Follow a stream, optionally from the last event id seen (resume).",
        {
            "stream": {"type": "string", "enum": list(Stream.ALL)},
            "application_id": {"type": "string", "format": "uuid"},
            "since": _ID,
        },
        ("stream",),
    ),
    Frame(
        "unsubscribe",
        "client",
        "Stop following a stream.",
        {"subscription": _SUB},
        ("subscription",),
    ),
    Frame("ping", "client", "Keep-alive; answered by pong.", {}),
    Frame(
        "ready",
        "server",
        "Authenticated.",
        {
            "kind": {"type": "string", "enum": ["citizen", "staff"]},
            "agency": {"type": ["string", "null"]},
            "expires_at": {"type": "integer", "description": "Token expiry, epoch seconds."},
            "language": {"type": "string", "enum": ["fr", "en"]},
        },
        ("kind", "expires_at", "language"),
    ),
    Frame(
        "subscribed",
        "server",
        "The subscription is active; missed events (if since was given) follow, then caught_up.",
        {
            "subscription": _SUB,
            "stream": {"type": "string", "enum": list(Stream.ALL)},
            "last_id": _ID,
        },
        ("subscription", "stream", "last_id"),
    ),
    Frame(
        "caught_up",
        "server",
        "Every missed event of the subscription was sent; live events follow.",
        {"subscription": _SUB, "last_id": _ID},
        ("subscription", "last_id"),
    ),
    Frame(
        "resync_required",
        "server",
        "Events older than the retention window may be missing: reload the list over REST.",
        {"subscription": _SUB},
        ("subscription",),
    ),
    Frame(
        "event",
        "server",
        "One event. Delivered at least once: drop an id already seen.",
        {
            "id": _ID,
            "subscription": _SUB,
            "event": {"type": "string", "enum": ["application.status_changed", "queue.changed"]},
            "data": {"$ref": "#/components/schemas/EventData"},
        },
        ("id", "subscription", "event", "data"),
    ),
    Frame(
        "unsubscribed",
        "server",
        "The subscription ended.",
        {"subscription": _SUB},
        ("subscription",),
    ),
    Frame("pong", "server", "Answer to ping.", {}),
    Frame(
        "error",
        "server",
        "A frame was refused; the connection stays open.",
        {
            "code": {"type": "string", "enum": list(ERROR_CODES)},
            "detail": {"type": "string", "description": "In the connection's language."},
        },
        ("code", "detail"),
    ),
)

# The ``data`` of ``event`` frames (apps.realtime.events.event_payload).
EVENT_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["application", "service", "agency", "occurred_at"],
    "properties": {
        "application": {
            "type": "object",
            "required": ["id", "reference", "status", "status_label"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "reference": {"type": "string"},
                "status": {"type": "string"},
                "status_label": {"type": "string"},
                "assignee_id": {
                    "type": ["string", "null"],
                    "format": "uuid",
                    "description": "Staff streams only.",
                },
            },
        },
        "service": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        },
        "agency": {
            "type": "object",
            "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
        },
        "occurred_at": {"type": "string", "format": "date-time"},
        "change": {
            "type": "string",
            "enum": [
                "submitted",
                "taken",
                "info_requested",
                "answered",
                "decided",
                "withdrawn",
                "closed",
            ],
            "description": "Staff streams only: what happened in the queue.",
        },
        "change_label": {"type": "string", "description": "Staff streams only."},
    },
}


def client_frame_types() -> frozenset[str]:
    """The ``type`` values a client may send."""
    return frozenset(frame.type for frame in FRAMES if frame.direction == "client")
