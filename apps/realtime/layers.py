"""Channel layers of the gateway and the wake-up the event log sends through them.

Production uses channels-redis (``REALTIME_CHANNEL_LAYER_URL=redis://...``). Without it the
gateway uses ``PostgresNotifyChannelLayer``, a small layer over PostgreSQL ``LISTEN/NOTIFY``
on the platform's own database: no extra server for ``make run``.

Why not the ``channels_postgres`` package: it keeps one module-global psycopg pool bound to
the event loop that created it, while Django's sync code (gunicorn threads, Celery workers)
publishes through ``async_to_sync``, which runs each call on a new loop; and it stores every
message in a table that each consumer polls. Here the layer only has to carry small wake-ups
(the events themselves are read from the log), which NOTIFY does well.

The layer carries hints, never the events: a lost wake-up delays delivery until the hub's
next poll (``REALTIME_POLL_SECONDS``), it loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
import weakref
from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection, transaction

logger = structlog.get_logger(__name__)

# Every gateway process's hub listens on this group.
EVENTS_GROUP = "realtime.events"
# NOTIFY payloads are limited to 8000 bytes by PostgreSQL.
MAX_NOTIFY_BYTES = 7900


def _pg_channel(name: str) -> str:
    """A PostgreSQL identifier (≤ 63 bytes) for a group or a process."""
    return "guichet_rt_" + hashlib.sha256(name.encode()).hexdigest()[:40]


def database_conninfo() -> str:
    """A libpq connection string for the default database (the layer's own connections)."""
    from psycopg.conninfo import make_conninfo

    db = settings.DATABASES["default"]
    params = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    params = {key: value for key, value in params.items() if value}
    options = db.get("OPTIONS", {})
    if "sslmode" in options:
        params["sslmode"] = options["sslmode"]
    return make_conninfo(**params, application_name="guichet-gateway")


class PostgresNotifyChannelLayer(BaseChannelLayer):
    """A channel layer over ``LISTEN/NOTIFY``: groups across processes, channels in-process.

    Each process listens on one connection (per event loop) to the groups its channels joined
    and to its own process channel; ``send`` to another process's channel and ``group_send``
    are a ``NOTIFY``. Messages are JSON and at most ~7.9 kB. Delivery is at most once, like
    channels-redis without persistence: a process that is not listening misses the message.
    """

    extensions = ["groups", "flush"]

    def __init__(
        self, expiry: int = 60, capacity: int = 1000, conninfo: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, **kwargs)
        self._conninfo = conninfo
        self.process_id = uuid.uuid4().hex[:12]
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.groups: dict[str, set[str]] = {}
        self._listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listener] = (
            weakref.WeakKeyDictionary()
        )
        self._senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def conninfo(self) -> str:
        return self._conninfo or database_conninfo()

    # --- channels -----------------------------------------------------------------------

    async def new_channel(self, prefix: str = "specific") -> str:
        name = f"{prefix}.{self.process_id}!{uuid.uuid4().hex}"
        self.queues[name] = asyncio.Queue(self.get_capacity(name))
        await self._listener().ensure(_pg_channel(self.process_id))
        return name

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert self.require_valid_channel_name(channel)
        if self._is_local(channel):
            self._deliver_local(channel, message)
            return
        process = channel.split(".", 1)[-1].split("!", 1)[0]
        await self._notify(_pg_channel(process), {"c": channel, "m": message})

    async def receive(self, channel: str) -> dict[str, Any]:
        assert self.require_valid_channel_name(channel)
        queue = self.queues.get(channel)
        if queue is None:
            queue = self.queues[channel] = asyncio.Queue(self.get_capacity(channel))
        return await queue.get()

    # --- groups -------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        assert self.require_valid_group_name(group)
        self.groups.setdefault(group, set()).add(channel)
        await self._listener().ensure(_pg_channel(group))

    async def group_discard(self, group: str, channel: str) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self.groups[group]

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group)
        await self._notify(_pg_channel(group), {"g": group, "m": message})

    async def flush(self) -> None:
        self.queues.clear()
        self.groups.clear()
        for listener in list(self._listeners.values()):
            await listener.close()
        self._listeners.clear()
        for sender in list(self._senders.values()):
            with contextlib.suppress(Exception):
                await sender.close()
        self._senders.clear()

    # --- in a Django transaction ---------------------------------------------------------

    def group_send_on_commit(self, group: str, message: dict[str, Any]) -> None:
        """``NOTIFY`` on the current Django connection: PostgreSQL sends it if and when the
        caller's transaction commits (nothing on rollback)."""
        payload = json.dumps({"g": group, "m": message}, separators=(",", ":"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [_pg_channel(group), payload])

    # --- plumbing -----------------------------------------------------------------------

    def _is_local(self, channel: str) -> bool:
        return channel in self.queues or f".{self.process_id}!" in channel

    def _deliver_local(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.queues.get(channel)
        if queue is None:
            return  # nobody receives on it (any more)
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull as exc:
            raise ChannelFull(channel) from exc

    def dispatch(self, raw: str) -> None:
        """A notification arrived: hand it to the local channels it names."""
        try:
            data = json.loads(raw)
        except ValueError:
            return
        message = data.get("m")
        if not isinstance(message, dict):
            return
        targets = [data["c"]] if "c" in data else list(self.groups.get(str(data.get("g")), ()))
        for channel in targets:
            with contextlib.suppress(ChannelFull):  # a slow receiver drops, like Redis's
                self._deliver_local(channel, message)

    async def _notify(self, pg_channel: str, data: dict[str, Any]) -> None:
        payload = json.dumps(data, separators=(",", ":"))
        if len(payload.encode()) > MAX_NOTIFY_BYTES:
            raise ValueError("message too large for this channel layer")
        import psycopg

        loop = asyncio.get_running_loop()
        sender = self._senders.get(loop)
        for attempt in range(2):
            if sender is None or sender.closed:
                sender = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                self._senders[loop] = sender
            try:
                await sender.execute("SELECT pg_notify(%s, %s)", [pg_channel, payload])
                return
            except psycopg.OperationalError:
                with contextlib.suppress(Exception):
                    await sender.close()
                sender = None
                if attempt:
                    raise

    def _listener(self) -> _Listener:
        loop = asyncio.get_running_loop()
        listener = self._listeners.get(loop)
        if listener is None:
            listener = self._listeners[loop] = _Listener(self)
        return listener


class _Listener:
    """One ``LISTEN`` connection of a process (per event loop), reconnected when it drops."""

    def __init__(self, layer: PostgresNotifyChannelLayer) -> None:
        self.layer = layer
        self.channels: set[str] = set()
        self.pending: set[str] = set()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.connection: Any = None

    async def ensure(self, pg_channel: str) -> None:
        if pg_channel in self.channels:
            return
        self.channels.add(pg_channel)
        self.pending.add(pg_channel)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())
        # Wait until the LISTEN is in place (bounded: the loop retries on its own).
        self.ready.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout=5)

    async def run(self) -> None:
        import psycopg

        delay = 0.1
        while True:
            try:
                self.connection = await psycopg.AsyncConnection.connect(
                    self.layer.conninfo, autocommit=True
                )
                self.pending = set(self.channels)
                while True:
                    for pg_channel in list(self.pending):
                        await self.connection.execute(f'LISTEN "{pg_channel}"')
                        self.pending.discard(pg_channel)
                    self.ready.set()
                    delay = 0.1
                    async for notify in self.connection.notifies(timeout=0.2):
                        self.layer.dispatch(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("realtime_layer_listen_failed", error=type(exc).__name__)
                with contextlib.suppress(Exception):
                    await self.connection.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()


def wake(event_id: int) -> None:
    """Tell every gateway process that the log has new events, once the caller commits."""
    message = {"type": "realtime.wake", "id": event_id}
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, PostgresNotifyChannelLayer):
        layer.group_send_on_commit(EVENTS_GROUP, message)
        return

    def send() -> None:
        try:
            async_to_sync(layer.group_send)(EVENTS_GROUP, message)
        except Exception as exc:  # the hub's poll picks the event up anyway
            logger.warning("realtime_wake_failed", error=type(exc).__name__)

    transaction.on_commit(send)


def channel_layer_check(timeout: float = 2.0) -> None:
    """Readiness: a message goes through the configured layer (raises when it cannot)."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    if isinstance(layer, PostgresNotifyChannelLayer):
        # Outside a transaction the NOTIFY goes out at once, on the request's connection.
        layer.group_send_on_commit("realtime.readiness", {"type": "realtime.ping"})
        return

    async def probe() -> None:
        await asyncio.wait_for(
            layer.group_send("realtime.readiness", {"type": "realtime.ping"}), timeout
        )

    async_to_sync(probe)()
