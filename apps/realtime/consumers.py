"""The WebSocket endpoint ``/ws/v1/`` (agency hosts and the public host).

The handshake never carries the token in the URL: the client sends it either as the first
frame (``{"type": "auth", "token": ...}``) or as a subprotocol ``guichet.token.<jwt>`` next to
``guichet.v1`` (the server answers ``guichet.v1``, never echoing the token). See
``apps.realtime.protocol`` for the frames and close codes, ``docs/realtime.md`` for clients.

Bad input never raises out of the consumer: a bad frame gets an ``error`` frame (the
connection stays open) and too many of them close it (4430); frames over
``REALTIME_MAX_FRAME_BYTES`` close it (1009).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any
from uuid import UUID

import structlog
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from django_tenants.utils import get_public_schema_name, remove_www, schema_context

from apps.hotkeys.base import StoreUnavailable
from apps.realtime.auth import AuthRefused, Principal, realtime_authenticate
from apps.realtime.db import db_async as database_sync_to_async
from apps.realtime.hub import Hub, get_hub, stream_filter
from apps.realtime.limits import connection_acquire, connection_release, subscription_allowed
from apps.realtime.protocol import (
    ERROR_CODES,
    SUBPROTOCOL,
    TOKEN_SUBPROTOCOL_PREFIX,
    CloseCode,
    Stream,
)
from apps.realtime.selectors import application_is_citizens

logger = structlog.get_logger(__name__)


def scope_header(scope: dict[str, Any], name: bytes) -> str:
    """One request header of an ASGI scope (latin-1), or ''."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def scope_language(scope: dict[str, Any]) -> str:
    """``en`` when the client prefers English to French (Accept-Language), else ``fr``."""
    for code, _quality in parse_accept_lang_header(scope_header(scope, b"accept-language")):
        base = code.split("-")[0].lower()
        if base in ("fr", "en"):
            return base
    return "fr"


def schema_for_host(host: str) -> str | None:
    """The schema answering at ``host`` (public hosts: public), None for unknown/inactive."""
    from apps.agencies.selectors import agency_for_host

    name = remove_www(host.split(":")[0]).lower()
    if name in settings.GUICHET_PUBLIC_HOSTS:
        return get_public_schema_name()
    agency = agency_for_host(name)
    if agency is None or not agency.is_active:
        return None
    return str(agency.schema_name)


def _authenticate(token: str, schema: str, language: str) -> Principal:
    with schema_context(schema):
        return realtime_authenticate(token, language=language)


class GatewayConsumer(AsyncWebsocketConsumer):
    """One WebSocket connection: authenticate, subscribe, receive events."""

    # The hub listens to the channel layer once per process; connections do not.
    channel_layer_alias = "__realtime_connections_use_the_hub__"
    transport = "websocket"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal: Principal | None = None
        self.schema = ""
        self.raw_token = ""
        self.source = ""
        self.language = "fr"
        self.connection_id = uuid.uuid4().hex
        self.errors = 0
        self.has_lease = False
        self.closing = False
        self.hub: Hub | None = None
        self.outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.timers: list[asyncio.TimerHandle] = []
        self.auth_timeout: asyncio.TimerHandle | None = None

    # --- handshake ----------------------------------------------------------------------

    async def connect(self) -> None:
        host = scope_header(self.scope, b"host")
        try:
            schema = await database_sync_to_async(schema_for_host)(host)
        except Exception:
            logger.warning("realtime_host_lookup_failed")
            await self.close(code=CloseCode.TRY_AGAIN_LATER)
            return
        if schema is None:
            await self.close()  # refused handshake: no agency answers at this address (403)
            return
        self.schema = schema
        self.language = scope_language(self.scope)
        client = self.scope.get("client") or ("", 0)
        self.source = str(client[0] or "unknown")
        offered = list(self.scope.get("subprotocols") or [])
        token = next(
            (
                p[len(TOKEN_SUBPROTOCOL_PREFIX) :]
                for p in offered
                if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)
            ),
            "",
        )
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        self.outbox = asyncio.Queue(int(settings.REALTIME_SEND_BUFFER))
        self.writer = asyncio.get_running_loop().create_task(self._write())
        if token:
            await self._authenticate(token)
        else:
            self.auth_timeout = asyncio.get_running_loop().call_later(
                float(settings.REALTIME_AUTH_TIMEOUT_SECONDS),
                self.close_soon,
                CloseCode.AUTH_TIMEOUT,
            )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        for timer in [*self.timers, self.auth_timeout]:
            if timer is not None:
                timer.cancel()
        if self.hub is not None:
            self.hub.detach(self)
        if self.writer is not None:
            self.writer.cancel()
        if self.has_lease and self.principal is not None:
            self.has_lease = False
            await database_sync_to_async(connection_release)(
                user_id=str(self.principal.user_id),
                source=self.source,
                connection_id=self.connection_id,
            )

    # --- the hub's side -----------------------------------------------------------------

    def push(self, frame: dict[str, Any]) -> bool:
        """Queue a frame for the writer; False when the client is too far behind."""
        if self.closing or self.outbox is None:
            return True
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def close_soon(self, code: CloseCode) -> None:
        """Close from outside the consumer's own flow (hub, timers)."""
        if self.closing:
            return
        self.closing = True
        asyncio.get_running_loop().create_task(self._close(code))

    async def _write(self) -> None:
        assert self.outbox is not None
        while True:
            frame = await self.outbox.get()
            try:
                await self.send(text_data=json.dumps(frame, separators=(",", ":")))
            finally:
                self.outbox.task_done()

    # --- frames from the client ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > int(settings.REALTIME_MAX_FRAME_BYTES):
            await self._close(CloseCode.MESSAGE_TOO_BIG)
            return
        frame: Any = None
        if text_data is not None:
            with contextlib.suppress(ValueError):
                frame = json.loads(text_data)
        kind = frame.get("type") if isinstance(frame, dict) else None
        if self.principal is None:
            token = frame.get("token") if kind == "auth" else None
            if not isinstance(token, str):
                await self._close(CloseCode.BAD_REQUEST)
                return
            await self._authenticate(token)
            return
        if kind == "ping":
            self.push({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe(frame)
        elif kind == "unsubscribe":
            await self._unsubscribe(frame)
        elif kind == "auth" and isinstance(frame.get("token"), str):
            await self._reauthenticate(frame["token"])
        else:
            await self._error("malformed_frame")

    async def _close(self, code: CloseCode) -> None:
        """Send what is queued (an error frame saying why, say), then close with ``code``."""
        self.closing = True
        logger.info("realtime_close", code=int(code), reason=code.name.lower())
        if self.outbox is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.join(), timeout=1.0)
        await self.close(code=int(code))

    async def _error(self, code: str) -> None:
        self.errors += 1
        with translation.override(self.language):
            self.push({"type": "error", "code": code, "detail": str(ERROR_CODES[code])})
        if self.errors >= int(settings.REALTIME_MAX_ERRORS):
            await self._close(CloseCode.TOO_MANY_ERRORS)

    # --- authentication -----------------------------------------------------------------

    async def _authenticate(self, token: str) -> None:
        if self.auth_timeout is not None:
            self.auth_timeout.cancel()
            self.auth_timeout = None
        try:
            principal = await database_sync_to_async(_authenticate)(
                token, self.schema, self.language
            )
        except AuthRefused as refused:
            await self._close(refused.close_code)
            return
        try:
            over = await database_sync_to_async(connection_acquire)(
                user_id=str(principal.user_id), source=self.source, connection_id=self.connection_id
            )
        except StoreUnavailable:
            await self._close(CloseCode.TRY_AGAIN_LATER)
            return
        if over is not None:
            logger.info("realtime_connection_refused", limit=over)
            await self._close(CloseCode.TOO_MANY_CONNECTIONS)
            return
        self.has_lease = True
        self.principal = principal
        self.raw_token = token
        self.hub = get_hub()
        self.hub.attach(self)
        self._arm_expiry(principal.expires_at)
        self.push(
            {
                "type": "ready",
                "kind": principal.kind,
                "agency": principal.agency,
                "expires_at": principal.expires_at,
                "language": principal.language,
            }
        )

    async def _reauthenticate(self, token: str) -> None:
        assert self.principal is not None
        try:
            principal = await database_sync_to_async(_authenticate)(
                token, self.schema, self.language
            )
        except AuthRefused as refused:
            await self._close(refused.close_code)
            return
        if (principal.user_id, principal.kind, principal.agency) != (
            self.principal.user_id,
            self.principal.kind,
            self.principal.agency,
        ):
            await self._error("token_mismatch")
            return
        self.principal = principal
        self.raw_token = token
        self._arm_expiry(principal.expires_at)
        self.push(
            {
                "type": "ready",
                "kind": principal.kind,
                "agency": principal.agency,
                "expires_at": principal.expires_at,
                "language": principal.language,
            }
        )

    def _arm_expiry(self, expires_at: int) -> None:
        for timer in self.timers:
            timer.cancel()
        delay = max(0.0, expires_at - time.time())
        self.timers = [
            asyncio.get_running_loop().call_later(delay, self.close_soon, CloseCode.TOKEN_EXPIRED)
        ]

    # --- subscriptions ------------------------------------------------------------------

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        assert self.principal is not None
        assert self.hub is not None
        stream = frame.get("stream")
        if stream not in Stream.ALL:
            await self._error("unknown_stream")
            return
        since = frame.get("since")
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or since < 0
        ):
            await self._error("invalid_since")
            return
        wants_staff = stream == Stream.QUEUE
        if wants_staff != (self.principal.kind == "staff"):
            await self._error("stream_forbidden")
            return
        application_id: UUID | None = None
        if stream == Stream.APPLICATION:
            try:
                application_id = UUID(str(frame.get("application_id")))
            except ValueError:
                await self._error("not_found")
                return
        if len(self.hub.subscriptions(self)) >= int(
            settings.REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION
        ):
            await self._error("too_many_subscriptions")
            return
        allowed = await database_sync_to_async(subscription_allowed)(
            user_id=str(self.principal.user_id)
        )
        if not allowed:
            await self._error("rate_limited")
            return
        selected = stream_filter(
            stream=stream,
            principal=self.principal,
            schema=self.schema,
            application_id=application_id,
        )
        if application_id is not None:
            owned = await database_sync_to_async(application_is_citizens)(
                citizen_id=self.principal.user_id,
                application_id=application_id,
                agency=selected.agency,
            )
            if not owned:  # never says whether it exists elsewhere
                await self._error("not_found")
                return
        try:
            await self.hub.subscribe(self, selected, since=since)
        except Exception:
            logger.exception("realtime_subscribe_failed")
            await self._close(CloseCode.TRY_AGAIN_LATER)

    async def _unsubscribe(self, frame: dict[str, Any]) -> None:
        assert self.hub is not None
        subscription = frame.get("subscription")
        if not isinstance(subscription, str) or not self.hub.unsubscribe(self, subscription):
            await self._error("unknown_subscription")
            return
        self.push({"type": "unsubscribed", "subscription": subscription})
