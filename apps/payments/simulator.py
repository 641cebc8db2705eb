"""A simulator of the mobile-money aggregator: a small HTTP server on loopback.

It speaks the aggregator's API (``apps.payments.providers.aggregator``) and behaves like the
real service, faults included, so every path of the payment services runs against real HTTP:

* the citizen "confirms on their phone" ``confirm_after`` seconds after the payment starts
  (``None``: only when told, ``POST /_control/confirm``), with ``outcome`` paid, cancelled or
  expired;
* callbacks are signed and queued (``GET /_control/callbacks`` drains them; with a callback
  URL and ``deliver`` they are also POSTed there): ``callback`` = ``normal``, ``duplicate``
  (sent twice), ``late`` (after ``callback_delay`` seconds), ``lost`` (never), ``forged``
  (signed with a wrong secret);
* ``pay_fault`` / ``status_fault`` / ``disburse_fault`` = ``timeout`` (the request is handled,
  the answer comes after ``sleep_seconds``: a lost answer), ``5xx`` (503, nothing done) or
  ``5xx_after`` (done, then 503); ``*_fault_times`` limits how many requests it hits (-1: all);
* ``amount_delta`` is added to the amount the simulator reports (wrong amounts).

Behaviour changes through ``POST /_control/behaviour`` (JSON members above) or, in the same
process, ``simulator.behaviour``. ``POST /_control/reset`` forgets everything.

Run: ``python -m apps.payments.simulator --port 9701 --token demo --secret demo-secret``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SIGNATURE_HEADER = "X-Payment-Signature"
DEFAULT_BEHAVIOUR: dict[str, Any] = {
    "confirm_after": 0.2,
    "outcome": "paid",
    "callback": "normal",
    "callback_delay": 1.0,
    "deliver": False,
    "pay_fault": None,
    "pay_fault_times": -1,
    "status_fault": None,
    "status_fault_times": -1,
    "disburse_fault": None,
    "disburse_fault_times": -1,
    "disburse_outcome": "paid",
    "sleep_seconds": 3.0,
    "amount_delta": 0,
}
MAX_KEPT_CALLBACKS = 10_000
STATUS_CODES = {"paid": 0, "pending": 2, "expired": 4, "cancelled": 6}
DISBURSE_CODES = {"paid": 0, "pending": 2, "failed": 4}


def _sign(secret: str, body: bytes, timestamp: int) -> str:
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass
class SimulatedPayment:
    """One payment as the simulated aggregator holds it."""

    identifier: str
    amount: int
    phone: str
    network: str
    callback_url: str
    tx_reference: str = field(default_factory=lambda: f"TX{secrets.token_hex(6).upper()}")
    payment_reference: str = ""
    status: str = "pending"
    created_at: float = field(default_factory=time.time)


class AggregatorSimulator:
    """The simulator; ``start()`` serves in a thread, ``stop()`` shuts it down."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sim",  # noqa: S107 - a simulator's test credential
        secret: str = "sim",  # noqa: S107
    ) -> None:
        self.token = token
        self.secret = secret
        self.behaviour: dict[str, Any] = dict(DEFAULT_BEHAVIOUR)
        self.payments: dict[str, SimulatedPayment] = {}
        self.disbursements: dict[str, dict[str, Any]] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.requests: dict[str, int] = {}
        self.lock = threading.RLock()
        self._timers: list[threading.Timer] = []
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give ``PAYMENTS_AGGREGATOR_URL``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AggregatorSimulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cancel pending confirmations."""
        for timer in self._timers:
            timer.cancel()
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        """Forget payments, disbursements, callbacks and faults."""
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self.behaviour = dict(DEFAULT_BEHAVIOUR)
            self.payments.clear()
            self.disbursements.clear()
            self.callbacks.clear()
            self.requests.clear()

    # --- Behaviour -------------------------------------------------------------------------

    def _fault(self, kind: str) -> str | None:
        """The fault to apply to this ``kind`` of request (and count it down)."""
        with self.lock:
            fault = self.behaviour.get(f"{kind}_fault")
            if not fault:
                return None
            times = int(self.behaviour.get(f"{kind}_fault_times", -1))
            if times == 0:
                return None
            if times > 0:
                self.behaviour[f"{kind}_fault_times"] = times - 1
            return str(fault)

    def _later(self, delay: float, function: Any, *args: Any) -> None:
        timer = threading.Timer(delay, function, args)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def confirm(self, identifier: str, outcome: str | None = None) -> bool:
        """The citizen answers on their phone: the payment becomes final, callbacks go out."""
        with self.lock:
            payment = self.payments.get(identifier)
            if payment is None or payment.status != "pending":
                return False
            payment.status = outcome or str(self.behaviour["outcome"])
            if payment.status == "paid":
                payment.payment_reference = f"MM{secrets.token_hex(5).upper()}"
            mode = str(self.behaviour["callback"])
        if mode == "lost":
            return True
        if mode == "late":
            self._later(float(self.behaviour["callback_delay"]), self._emit, payment, False)
            return True
        self._emit(payment, mode == "forged")
        if mode == "duplicate":
            self._emit(payment, False)
        return True

    def callback_body(self, payment: SimulatedPayment) -> bytes:
        """The JSON body of a callback about ``payment``."""
        return json.dumps(
            {
                "tx_reference": payment.tx_reference,
                "identifier": payment.identifier,
                "payment_reference": payment.payment_reference,
                "amount": payment.amount + int(self.behaviour["amount_delta"]),
                "datetime": time.strftime("%Y-%m-%d %H:%M:%S"),
                "payment_method": payment.network,
                "phone_number": payment.phone,
                "status": STATUS_CODES[payment.status],
            }
        ).encode()

    def _emit(self, payment: SimulatedPayment, forged: bool) -> None:
        body = self.callback_body(payment)
        secret = "not-the-secret" if forged else self.secret
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: _sign(secret, body, int(time.time())),
        }
        with self.lock:
            self.callbacks.append({"url": payment.callback_url, "headers": headers, "body": body})
            del self.callbacks[:-MAX_KEPT_CALLBACKS]  # a long demo run keeps the latest only
            deliver = bool(self.behaviour["deliver"]) and payment.callback_url
        if deliver:
            threading.Thread(
                target=self._deliver, args=(payment.callback_url, headers, body), daemon=True
            ).start()

    @staticmethod
    def _deliver(url: str, headers: dict[str, str], body: bytes) -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        # A failed delivery is a lost callback: the merchant's reconciliation finds the payment.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - loopback demo

    def drain_callbacks(self) -> list[dict[str, Any]]:
        """Take the callbacks emitted so far (each ``{"url", "headers", "body"}``)."""
        with self.lock:
            taken, self.callbacks = self.callbacks, []
        return taken

    # --- API -------------------------------------------------------------------------------

    def handle_api(self, path: str, data: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """Answer one API call: (HTTP status, JSON body, seconds to wait before answering)."""
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1
        if data.get("auth_token") != self.token:
            return 200, {"status": 2}, 0.0
        kind = {
            "/api/v1/pay": "pay",
            "/api/v2/status": "status",
            "/api/v1/disburse": "disburse",
            "/api/v1/disburse/status": "disburse",
        }.get(path)
        if kind is None:
            return 404, {"error": "not_found"}, 0.0
        fault = self._fault(kind)
        if fault == "5xx":
            return 503, {"error": "unavailable"}, 0.0
        status, body = {
            "/api/v1/pay": self._pay,
            "/api/v2/status": self._status,
            "/api/v1/disburse": self._disburse,
            "/api/v1/disburse/status": self._disburse_status,
        }[path](data)
        if fault == "5xx_after":
            return 503, {"error": "unavailable"}, 0.0
        delay = float(self.behaviour["sleep_seconds"]) if fault == "timeout" else 0.0
        return status, body, delay

    def _pay(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        identifier = data.get("identifier")
        amount = data.get("amount")
        network = data.get("network")
        if (
            not isinstance(identifier, str)
            or not isinstance(amount, int)
            or amount <= 0
            or network not in ("TMONEY", "FLOOZ")
            or not str(data.get("phone_number", "")).lstrip("+").isdigit()
        ):
            return 200, {"status": 4}
        with self.lock:
            if identifier in self.payments:
                return 200, {"status": 6}
            payment = SimulatedPayment(
                identifier=identifier,
                amount=amount,
                phone=str(data["phone_number"]),
                network=network,
                callback_url=str(data.get("callback_url", "")),
            )
            self.payments[identifier] = payment
            confirm_after = self.behaviour["confirm_after"]
        if confirm_after is not None:
            self._later(float(confirm_after), self.confirm, identifier)
        return 200, {"tx_reference": payment.tx_reference, "status": 0}

    def _status(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            payment = self.payments.get(str(data.get("identifier")))
            if payment is None:
                return 404, {"error": "not_found"}
            return 200, {
                "tx_reference": payment.tx_reference,
                "identifier": payment.identifier,
                "payment_reference": payment.payment_reference,
                "status": STATUS_CODES[payment.status],
                "amount": payment.amount + int(self.behaviour["amount_delta"]),
                "currency": "XOF",
                "datetime": time.strftime("%Y-%m-%d %H:%M:%S"),
                "payment_method": payment.network,
            }

    def _disburse(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        identifier = str(data.get("identifier", ""))
        with self.lock:
            existing = self.disbursements.get(identifier)
            if existing is None:
                if not identifier or not isinstance(data.get("amount"), int):
                    return 200, {"status": 4}
                existing = {
                    "identifier": identifier,
                    "amount": data["amount"],
                    "phone": str(data.get("phone_number", "")),
                    "status": str(self.behaviour["disburse_outcome"]),
                    "reference": f"DB{secrets.token_hex(5).upper()}",
                }
                self.disbursements[identifier] = existing
            return 200, {
                "status": DISBURSE_CODES[existing["status"]],
                "reference": existing["reference"],
                "amount": existing["amount"],
            }

    def _disburse_status(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            existing = self.disbursements.get(str(data.get("identifier", "")))
            if existing is None:
                return 404, {"error": "not_found"}
            return 200, {
                "status": DISBURSE_CODES[existing["status"]],
                "reference": existing["reference"],
                "amount": existing["amount"],
            }

    def handle_control(self, method: str, path: str, query: str, data: dict[str, Any]) -> Any:
        """The test and demo controls under ``/_control/``."""
        if path == "/_control/behaviour" and method == "POST":
            with self.lock:
                unknown = set(data) - set(DEFAULT_BEHAVIOUR)
                if unknown:
                    return 400, {"unknown": sorted(unknown)}
                self.behaviour.update(data)
                return 200, dict(self.behaviour)
        if path == "/_control/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        if path == "/_control/confirm" and method == "POST":
            done = self.confirm(str(data.get("identifier", "")), data.get("outcome"))
            return (200 if done else 409), {"confirmed": done}
        if path == "/_control/callbacks" and method == "GET":
            drain = parse_qs(query).get("drain") == ["1"]
            with self.lock:
                items = self.drain_callbacks() if drain else list(self.callbacks)
            return 200, [
                {"url": c["url"], "headers": c["headers"], "body": c["body"].decode()}
                for c in items
            ]
        if path == "/_control/state" and method == "GET":
            with self.lock:
                return 200, {
                    "payments": {k: vars(v) for k, v in self.payments.items()},
                    "disbursements": self.disbursements,
                    "requests": self.requests,
                }
        return 404, {"error": "not_found"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and benches send thousands of requests

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _read(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    data = json.loads(raw or b"{}")
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                data = self._read() if method == "POST" else {}
                if parts.path.startswith("/_control/"):
                    status, body = simulator.handle_control(method, parts.path, parts.query, data)
                    self._answer(status, body)
                    return
                status, body, delay = simulator.handle_api(parts.path, data)
                if delay:
                    time.sleep(delay)
                # The client may have given up (timeout): its answer is lost, as on a real network.
                with contextlib.suppress(OSError):
                    self._answer(status, body)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

        return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted (``make run`` starts it for the demo)."""
    parser = argparse.ArgumentParser(description="Mobile-money aggregator simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9701)
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--secret", default="demo-callback-secret")
    parser.add_argument("--confirm-after", type=float, default=5.0)
    parser.add_argument("--deliver", action="store_true", help="POST callbacks to their URL")
    arguments = parser.parse_args(argv)
    simulator = AggregatorSimulator(
        host=arguments.host, port=arguments.port, token=arguments.token, secret=arguments.secret
    )
    simulator.behaviour.update(
        {"confirm_after": arguments.confirm_after, "deliver": arguments.deliver}
    )
    print(f"aggregator simulator on {simulator.url}", flush=True)
    try:
        simulator.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.server.server_close()


if __name__ == "__main__":
    main()
