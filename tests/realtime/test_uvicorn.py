"""End to end: a real uvicorn process serving config.asgi, the ``websockets`` client library,
commits made by this process, the embedded channel layer (PostgreSQL NOTIFY) in between.

The data is committed (no test transaction): the server is another process. Everything this
module creates is removed at its end.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.tokens import TokenKind, issue_user_tokens
from apps.applications.models import Application
from apps.catalogue.models import Service
from apps.directory.models import ApplicationEntry
from apps.outbox.models import OutboxMessage
from apps.realtime.models import RealtimeEvent
from tests.applications.conftest import advance, draft, service_create
from tests.factories import UserFactory
from tests.helpers import running_database_url

ROOT = Path(__file__).resolve().parents[2]

websockets = pytest.importorskip("websockets")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """uvicorn on a free loopback port, on the test database; its port."""
    work = tmp_path_factory.mktemp("gateway")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": running_database_url(),
        "GUICHET_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "LOG_LEVEL": "WARNING",
        "REALTIME_POLL_SECONDS": "30",  # live events must come from the NOTIFY wake-up
        "REALTIME_SYNC_THREAD_SENSITIVE": "false",  # as in production: the thread pool
    }
    env.pop("REALTIME_CHANNEL_LAYER_URL", None)
    log = open(work / "uvicorn.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--lifespan",
            "off",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "uvicorn.log").read_text()[-2000:])
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A published service in agency A and a citizen, committed; removed afterwards."""
    with django_db_blocker.unblock():
        code = f"temps-reel-{uuid.uuid4().hex[:8]}"
        service = service_create("agence_a", code=code)
        citizen = UserFactory(email=f"{uuid.uuid4().hex[:12]}@example.tg")
        state = {"service": service, "citizen": citizen, "code": code}
        try:
            yield state
        finally:
            with schema_context("agence_a"):
                applications = Application.objects.filter(service=service)
                ids = list(applications.values_list("id", flat=True))
                OutboxMessage.objects.filter(
                    payload__application_id__in=[str(i) for i in ids]
                ).delete()
                applications.delete()
                ApplicationEntry.objects.filter(pk__in=ids).delete()
                RealtimeEvent.objects.filter(application_id__in=ids).delete()
                Service.objects.filter(pk=service.pk).delete()
                User.objects.filter(pk=citizen.pk).delete()


def _submit(state: dict[str, Any]) -> Application:
    """A real submission, committed: the on-commit delivery writes the event and NOTIFYs."""
    owner = state["citizen"]
    return advance(
        "agence_a",
        draft("agence_a", owner, service_code=state["code"]),
        "submit",
        owner,
        "citizen",
    )


def _submit_in_thread(state: dict[str, Any]) -> Application:
    """``_submit`` from an executor thread, which closes the connection it opened."""
    from django.db import connections

    try:
        return _submit(state)
    finally:
        connections.close_all()


async def _frame(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.mark.slow
def test_a_browser_like_client_gets_live_events_then_resumes_after_a_disconnect(
    gateway: int, committed: dict[str, Any], django_db_blocker: Any
) -> None:
    token = issue_user_tokens(user=committed["citizen"], kind=TokenKind.CITIZEN).access
    url = f"ws://127.0.0.1:{gateway}/ws/v1/"

    async def scenario() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        async with websockets.connect(url, subprotocols=["guichet.v1"]) as ws:
            assert ws.subprotocol == "guichet.v1"
            await ws.send(json.dumps({"type": "auth", "token": token}))
            ready = await _frame(ws)
            await ws.send(json.dumps({"type": "subscribe", "stream": "applications"}))
            subscribed = await _frame(ws)
            started = time.monotonic()
            with django_db_blocker.unblock():
                first = await loop.run_in_executor(None, _submit_in_thread, committed)
            live = await _frame(ws)
            latency = time.monotonic() - started
        # Disconnected: this one is missed, then fetched on resume.
        with django_db_blocker.unblock():
            missed = await loop.run_in_executor(None, _submit_in_thread, committed)
        offered = ["guichet.v1", f"guichet.token.{token}"]
        async with websockets.connect(url, subprotocols=offered) as ws:
            assert ws.subprotocol == "guichet.v1"  # the token is never echoed
            assert (await _frame(ws))["type"] == "ready"
            await ws.send(
                json.dumps({"type": "subscribe", "stream": "applications", "since": live["id"]})
            )
            resumed = [await _frame(ws) for _ in range(3)]
        return {
            "ready": ready,
            "subscribed": subscribed,
            "first": first,
            "live": live,
            "latency": latency,
            "missed": missed,
            "resumed": resumed,
        }

    result = asyncio.run(scenario())

    assert result["ready"]["kind"] == "citizen"
    assert result["subscribed"]["type"] == "subscribed"
    assert result["live"]["data"]["application"]["id"] == str(result["first"].id)
    # Commit to client, on a loaded machine; the figures under load are in benches/.
    print(f"draft + submit + delivery latency: {result['latency'] * 1000:.0f} ms")
    assert result["latency"] < 3
    assert [f["type"] for f in result["resumed"]] == ["subscribed", "event", "caught_up"]
    assert result["resumed"][1]["data"]["application"]["id"] == str(result["missed"].id)
    assert result["resumed"][1]["id"] > result["live"]["id"]


@pytest.mark.slow
def test_the_sse_stream_on_the_gateway_resumes_from_last_event_id(
    gateway: int, committed: dict[str, Any], django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        first = _submit(committed)
        seen = RealtimeEvent.objects.get(application_id=first.id).id
        second = _submit(committed)
    token = issue_user_tokens(user=committed["citizen"], kind=TokenKind.CITIZEN).access
    connection = http.client.HTTPConnection("127.0.0.1", gateway, timeout=10)
    connection.request(
        "GET",
        "/api/v1/events/?stream=applications",
        headers={"Authorization": f"Bearer {token}", "Last-Event-ID": str(seen)},
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    text = ""
    while "event: caught_up" not in text:
        line = response.readline().decode()
        assert line, text
        text += line
    connection.close()
    assert f'"id":"{second.id}"' in text
    assert f'"id":"{first.id}"' not in text
