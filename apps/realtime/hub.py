"""The hub: one per gateway process, it reads the event log and fans events out.

Connections (WebSocket consumers, SSE streams) register *sinks* and subscriptions with the
hub of their process. The hub keeps a cursor on the log (the last id it dispatched) and reads
what follows it each time the channel layer wakes it (``apps.realtime.layers.wake``, sent
when an event commits) and at least every ``REALTIME_POLL_SECONDS``: a lost wake-up delays an
event, it never loses one. One query per wake-up per process, whatever the number of
connections.

Resuming: a subscription with ``since`` is registered first (live events are held back),
then the log is read from ``since``; the backlog is sent, then the held-back events the
backlog did not contain, then ``caught_up``. An event id is sent at most once per
subscription and always in increasing order.

Every ``REALTIME_REVALIDATE_SECONDS`` the hub re-checks every connection's token (revoked:
close 4441) and renews the connections' leases in the hot-key store.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import structlog
from channels.layers import get_channel_layer
from django.conf import settings
from django_tenants.utils import schema_context
from prometheus_client import Counter, Gauge, Histogram

from apps.realtime.auth import AuthRefused, Principal, realtime_authenticate
from apps.realtime.db import db_async as database_sync_to_async
from apps.realtime.events import EVENT_QUEUE_CHANGED, EVENT_STATUS_CHANGED, event_payload
from apps.realtime.layers import EVENTS_GROUP
from apps.realtime.limits import connection_renew
from apps.realtime.models import RealtimeEvent
from apps.realtime.protocol import CloseCode
from apps.realtime.selectors import (
    StreamFilter,
    event_list_after,
    event_list_for_stream,
    event_log_first_id,
    event_log_last_id,
)

logger = structlog.get_logger(__name__)

PULL_BATCH = 500

CONNECTIONS = Gauge("guichet_realtime_connections", "Open real-time connections (this process)")
EVENTS_SENT = Counter("guichet_realtime_events_sent_total", "Events sent to clients", ["transport"])
COMMIT_TO_HUB = Histogram(
    "guichet_realtime_commit_to_hub_seconds",
    "From the event's row creation to its dispatch by the hub",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class Sink(Protocol):
    """A connection as the hub sees it."""

    principal: Principal | None
    schema: str
    raw_token: str
    source: str
    connection_id: str
    transport: str

    def push(self, frame: dict[str, Any]) -> bool:
        """Queue a frame without waiting; False when the connection's buffer is full."""

    def close_soon(self, code: CloseCode) -> None:
        """Close the connection (from the hub's task)."""


_subscription_ids = itertools.count(1)


@dataclass(eq=False)
class Subscription:
    """One stream followed by one connection."""

    sink: Sink
    filter: StreamFilter
    id: str = field(default_factory=lambda: f"s{next(_subscription_ids)}")
    last_id: int = 0
    catching_up: bool = False
    held: list[RealtimeEvent] = field(default_factory=list)

    def routing_keys(self) -> list[str]:
        stream = self.filter
        if stream.stream == "queue":
            return [f"agency:{stream.agency}"]
        if stream.stream == "application":
            return [f"application:{stream.application_id}"]
        return [f"citizen:{stream.user_id}"]


def _event_keys(event: RealtimeEvent) -> list[str]:
    keys = []
    if event.to_staff:
        keys.append(f"agency:{event.agency_schema}")
    if event.to_citizen:
        keys.append(f"citizen:{event.citizen_id}")
        keys.append(f"application:{event.application_id}")
    return keys


class Hub:
    """The fan-out of one process (one event loop)."""

    def __init__(self) -> None:
        self.cursor = 0
        self.sinks: dict[Sink, list[Subscription]] = {}
        self.by_key: dict[str, set[Subscription]] = {}
        self.task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()
        self.layer_channel: str | None = None
        self._payloads: dict[tuple[int, str, str], dict[str, Any]] = {}

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start reading the log (once); return when the cursor is set."""
        if self.task is None or self.task.done():
            self.started.clear()
            self.task = asyncio.get_running_loop().create_task(self._run())
        await self.started.wait()

    async def stop(self) -> None:
        """Stop the hub's task (tests, shutdown)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            self.task = None

    async def _run(self) -> None:
        self.cursor = await database_sync_to_async(event_log_last_id)()
        await self._join_layer()
        self.started.set()
        poll = float(settings.REALTIME_POLL_SECONDS)
        revalidate_every = float(settings.REALTIME_REVALIDATE_SECONDS)
        next_sweep = time.monotonic() + revalidate_every
        layer = get_channel_layer()
        while True:
            try:
                if layer is not None and self.layer_channel is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(layer.receive(self.layer_channel), timeout=poll)
                else:
                    await asyncio.sleep(poll)
                await self.pull()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + revalidate_every
                    await self.sweep()
                    await self._join_layer()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database or the layer is away: poll again later
                logger.warning("realtime_hub_error", error=type(exc).__name__)
                await asyncio.sleep(poll)

    async def _join_layer(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            if self.layer_channel is None:
                self.layer_channel = await layer.new_channel("realtime-hub")
            # Again at every sweep: channels-redis forgets group members after group_expiry.
            await layer.group_add(EVENTS_GROUP, self.layer_channel)
        except Exception as exc:
            logger.warning("realtime_layer_unavailable", error=type(exc).__name__)

    # --- reading the log ----------------------------------------------------------------

    async def pull(self) -> int:
        """Dispatch every event after the cursor; return how many."""
        count = 0
        while True:
            events = await database_sync_to_async(event_list_after)(
                after=self.cursor, limit=PULL_BATCH
            )
            now = time.time()
            for event in events:
                self.dispatch(event)
                self.cursor = event.id
                COMMIT_TO_HUB.observe(max(0.0, now - event.created_at.timestamp()))
            self._payloads.clear()
            count += len(events)
            if len(events) < PULL_BATCH:
                return count

    def dispatch(self, event: RealtimeEvent) -> None:
        """Offer one event to every subscription that follows it."""
        seen: set[int] = set()
        for key in _event_keys(event):
            for subscription in list(self.by_key.get(key, ())):
                if id(subscription) in seen or not subscription.filter.accepts(event):
                    continue
                seen.add(id(subscription))
                self.offer(subscription, event)

    def offer(self, subscription: Subscription, event: RealtimeEvent) -> None:
        if event.id <= subscription.last_id:
            return
        if subscription.catching_up:
            subscription.held.append(event)
            return
        self.send(subscription, event)

    def send(self, subscription: Subscription, event: RealtimeEvent) -> None:
        sink = subscription.sink
        language = sink.principal.language if sink.principal else "fr"
        audience = subscription.filter.audience
        key = (event.id, audience, language)
        data = self._payloads.get(key)
        if data is None:
            data = self._payloads[key] = event_payload(event, audience=audience, language=language)
        frame = {
            "type": "event",
            "id": event.id,
            "subscription": subscription.id,
            "event": EVENT_QUEUE_CHANGED if audience == "staff" else EVENT_STATUS_CHANGED,
            "data": data,
        }
        subscription.last_id = event.id
        if sink.push(frame):
            EVENTS_SENT.labels(transport=sink.transport).inc()
        else:
            sink.close_soon(CloseCode.SLOW_CONSUMER)

    # --- connections --------------------------------------------------------------------

    def attach(self, sink: Sink) -> None:
        """Register a connection (its subscriptions come later)."""
        self.sinks.setdefault(sink, [])
        CONNECTIONS.set(len(self.sinks))

    def detach(self, sink: Sink) -> None:
        """Forget a connection and its subscriptions."""
        for subscription in self.sinks.pop(sink, []):
            self._unregister(subscription)
        CONNECTIONS.set(len(self.sinks))

    def subscriptions(self, sink: Sink) -> list[Subscription]:
        return self.sinks.get(sink, [])

    def _unregister(self, subscription: Subscription) -> None:
        for key in subscription.routing_keys():
            members = self.by_key.get(key)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self.by_key[key]

    def unsubscribe(self, sink: Sink, subscription_id: str) -> bool:
        for subscription in self.sinks.get(sink, []):
            if subscription.id == subscription_id:
                self.sinks[sink].remove(subscription)
                self._unregister(subscription)
                return True
        return False

    async def subscribe(
        self, sink: Sink, stream: StreamFilter, *, since: int | None
    ) -> Subscription:
        """Follow ``stream`` for ``sink``: ``subscribed``, missed events, ``caught_up``."""
        await self.start()
        subscription = Subscription(sink=sink, filter=stream)
        subscription.last_id = self.cursor if since is None else since
        subscription.catching_up = since is not None
        self.sinks.setdefault(sink, []).append(subscription)
        for key in subscription.routing_keys():
            self.by_key.setdefault(key, set()).add(subscription)
        sink.push(
            {
                "type": "subscribed",
                "subscription": subscription.id,
                "stream": stream.stream,
                "last_id": subscription.last_id,
            }
        )
        if since is None:
            return subscription
        limit = int(settings.REALTIME_RESUME_MAX_EVENTS)
        try:
            backlog, first_id = await database_sync_to_async(_backlog)(stream, since, limit)
        except Exception:
            subscription.catching_up = False
            raise
        resync = len(backlog) > limit or (since > 0 and first_id > since + 1)
        if resync:
            sink.push({"type": "resync_required", "subscription": subscription.id})
        if len(backlog) > limit:
            # Too much to replay: the client reloads over REST; live events from the newest.
            subscription.last_id = max(subscription.last_id, backlog[-1].id)
            backlog = []
        for event in backlog:
            if event.id > subscription.last_id:
                self.send(subscription, event)
        for event in sorted(subscription.held, key=lambda e: e.id):
            if event.id > subscription.last_id:
                self.send(subscription, event)
        subscription.held.clear()
        subscription.catching_up = False
        sink.push(
            {
                "type": "caught_up",
                "subscription": subscription.id,
                "last_id": subscription.last_id,
            }
        )
        return subscription

    # --- periodic checks ----------------------------------------------------------------

    async def sweep(self) -> None:
        """Re-check every connection's token and renew the connections' leases."""
        sinks = [sink for sink in self.sinks if sink.principal is not None]
        if not sinks:
            return
        verdicts = await database_sync_to_async(_revalidate)(
            [(sink.raw_token, sink.schema) for sink in sinks]
        )
        for sink, code in zip(sinks, verdicts, strict=True):
            if code is not None:
                sink.close_soon(code)
        await database_sync_to_async(connection_renew)(
            [
                (str(sink.principal.user_id), sink.source, sink.connection_id)
                for sink in sinks
                if sink.principal is not None and sink.transport == "websocket"
            ]
        )


def _backlog(stream: StreamFilter, since: int, limit: int) -> tuple[list[RealtimeEvent], int]:
    return (
        event_list_for_stream(stream=stream, after=since, limit=limit + 1),
        event_log_first_id(),
    )


def _revalidate(tokens: list[tuple[str, str]]) -> list[CloseCode | None]:
    """For each ``(token, schema)``: None when it may stay, else the close code."""
    verdicts: dict[tuple[str, str], CloseCode | None] = {}
    results = []
    for pair in tokens:
        if pair not in verdicts:
            token, schema = pair
            try:
                with schema_context(schema):
                    realtime_authenticate(token)
                verdicts[pair] = None
            except AuthRefused as refused:
                # Expired tokens are closed by their own timer; here everything else.
                code = refused.close_code
                if code in (CloseCode.UNAUTHENTICATED,):
                    code = CloseCode.TOKEN_EXPIRED
                verdicts[pair] = None if code == CloseCode.TRY_AGAIN_LATER else code
        results.append(verdicts[pair])
    return results


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def get_hub() -> Hub:
    """The hub of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for other in [other for other in _hubs if other.is_closed()]:
            del _hubs[other]
        hub = _hubs[loop] = Hub()
    return hub


def reset_hubs() -> Callable[[], None]:
    """Tests: forget the hubs of closed loops."""
    for other in [other for other in _hubs if other.is_closed()]:
        del _hubs[other]
    return lambda: None


def stream_filter(
    *, stream: str, principal: Principal, schema: str, application_id: UUID | None = None
) -> StreamFilter:
    """The filter of ``stream`` for ``principal`` on the host of ``schema``."""
    from django_tenants.utils import get_public_schema_name

    agency = None if schema == get_public_schema_name() else schema
    return StreamFilter(
        stream=stream, user_id=principal.user_id, agency=agency, application_id=application_id
    )
