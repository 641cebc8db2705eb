"""Helpers of the gateway tests: WebSocket communicators on the real consumer, events made by
the real workflow services and delivered by the real outbox handler.

Async bodies run under ``async_to_sync`` from the test's thread, so the consumers' database
calls (thread-sensitive) come back to that thread and see the test's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django_tenants.utils import schema_context

from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from apps.realtime.db import db_async
from apps.realtime.hub import get_hub
from apps.realtime.routing import websocket_urlpatterns

T = TypeVar("T")
APP = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def realtime_settings(settings: Any, tmp_path: Path) -> None:
    """Fast polls and short limits; attachments in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.REALTIME_POLL_SECONDS = 0.05
    settings.REALTIME_REVALIDATE_SECONDS = 60
    settings.REALTIME_DELIVER_ON_COMMIT = True


def run(body: Callable[[], Awaitable[T]]) -> T:
    """Run an async test body on a fresh loop; the loop's hub is stopped at the end."""

    async def wrapper() -> T:
        try:
            return await body()
        finally:
            await get_hub().stop()
            layer = get_channel_layer()
            if layer is not None:
                await layer.flush()  # the layer's own connections to the test database

    return async_to_sync(wrapper)()


async def connect(
    host: str,
    *,
    token: str | None = None,
    language: str = "fr",
    subprotocols: list[str] | None = None,
    client: tuple[str, int] = ("203.0.113.7", 50000),
) -> WebsocketCommunicator:
    """A connected communicator on ``host``; with ``token``, authenticated by its first frame."""
    communicator = WebsocketCommunicator(
        APP,
        "/ws/v1/",
        headers=[(b"host", host.encode()), (b"accept-language", language.encode())],
        subprotocols=subprotocols,
    )
    communicator.scope["client"] = client
    connected, _ = await communicator.connect()
    assert connected
    if token is not None:
        await communicator.send_json_to({"type": "auth", "token": token})
    return communicator


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 3) -> int:
    """The close code the server sent (frames before it are skipped)."""
    while True:
        output = await communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000))


async def frames_until(
    communicator: WebsocketCommunicator, frame_type: str, timeout: float = 3
) -> list[dict[str, Any]]:
    """Every frame up to and including the first of ``frame_type``."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


def deliver_realtime(schema: str) -> int:
    """Deliver the pending real-time outbox messages of ``schema`` (the outbox's own code)."""
    with schema_context(schema):
        ids = list(
            OutboxMessage.objects.filter(kind="realtime", status=Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        for message_id in ids:
            outbox_process(message_id=message_id)
    return len(ids)


async def in_db(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run sync code (services, fixtures' helpers) from an async test body."""
    return await db_async(function)(*args, **kwargs)  # type: ignore[no-any-return]
