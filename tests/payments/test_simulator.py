"""The aggregator simulator itself, over HTTP: controls, faults, signed callbacks delivered."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from apps.payments.providers.aggregator import AggregatorProvider
from apps.payments.providers.base import ProviderUnavailable
from apps.payments.simulator import AggregatorSimulator
from tests.payments.conftest import SECRET, TOKEN


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _provider(simulator: AggregatorSimulator) -> AggregatorProvider:
    return AggregatorProvider(
        base_url=simulator.url, token=TOKEN, callback_secret=SECRET, read_timeout=0.5
    )


def test_behaviour_is_changed_over_http_and_unknown_members_are_refused(simulator_server):
    simulator_server.reset()
    status, body = _post(f"{simulator_server.url}/_control/behaviour", {"callback": "lost"})
    assert (status, body["callback"]) == (200, "lost")
    assert _post(f"{simulator_server.url}/_control/behaviour", {"nope": 1})[0] == 400
    assert _post(f"{simulator_server.url}/_control/reset", {})[0] == 200
    assert simulator_server.behaviour["callback"] == "normal"


def test_faults_hit_as_many_requests_as_asked(simulator_server):
    simulator_server.reset()
    simulator_server.behaviour.update({"status_fault": "5xx", "status_fault_times": 1})
    provider = _provider(simulator_server)
    with pytest.raises(ProviderUnavailable) as failure:
        provider.status(identifier="GCH-none")
    assert failure.value.sent
    assert provider.status(identifier="GCH-none").status == "not_found"


def test_a_wrong_token_and_bad_parameters_are_refused(simulator_server):
    simulator_server.reset()
    url = f"{simulator_server.url}/api/v1/pay"
    assert _post(url, {"auth_token": "wrong"}) == (200, {"status": 2})
    assert _post(url, {"auth_token": TOKEN, "identifier": "X", "amount": 0}) == (200, {"status": 4})


def test_callbacks_are_posted_to_their_url_signed(simulator_server):
    simulator_server.reset()
    received: list[tuple[bytes, str]] = []
    arrived = threading.Event()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["X-Payment-Signature"]))
            self.send_response(200)
            self.end_headers()
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.handle_request, daemon=True).start()
    simulator_server.behaviour.update({"confirm_after": 0.01, "deliver": True})
    provider = _provider(simulator_server)
    provider.initiate(
        identifier="GCH-deliver",
        amount_xof=700,
        phone="+22890000000",
        network="flooz",
        description="test",
        callback_url=f"http://127.0.0.1:{receiver.server_address[1]}/cb",
    )

    assert arrived.wait(5)
    receiver.server_close()
    body, signature = received[0]
    data = provider.verify_callback(body=body, headers={"X-Payment-Signature": signature})
    assert (data.identifier, data.amount_xof) == ("GCH-deliver", 700)
    assert provider.status(identifier="GCH-deliver").status == "paid"
