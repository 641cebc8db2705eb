"""A fake SMS gateway on loopback that counts messages by client reference.

``POST /sms`` (the JSON of ``HTTPSMSBackend``) records the message under its ``reference`` and
answers 200 (after ``on_receive``, which a fault case uses to kill the worker at the worst
instant: the gateway has the message, the worker never hears back). ``GET /sms/<reference>``
is the status query: 200 when the gateway has the reference, 404 otherwise.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass
class Gateway:
    """What the gateway received (``counts``: reference -> POSTs) and how to reach it."""

    url: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    on_receive: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def send_url(self) -> str:
        """``SMS_GATEWAY_URL``."""
        return f"{self.url}/sms"

    @property
    def status_url(self) -> str:
        """``SMS_GATEWAY_STATUS_URL``."""
        return f"{self.url}/sms/{{reference}}"


@contextmanager
def sms_gateway(on_receive: Callable[[str], None] | None = None) -> Iterator[Gateway]:
    """Run the gateway on 127.0.0.1 (a free port) until the block ends."""
    state = Gateway(on_receive=on_receive)

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client is gone (killed)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            reference = str(json.loads(self.rfile.read(length) or b"{}").get("reference", ""))
            with state.lock:
                state.counts[reference] += 1
            if state.on_receive is not None:
                state.on_receive(reference)
            self._answer(200, {"reference": reference, "status": "accepted"})

        def do_GET(self) -> None:
            reference = unquote(self.path.rsplit("/", 1)[-1])
            with state.lock:
                known = state.counts[reference] > 0
            if known:
                self._answer(200, {"reference": reference, "status": "delivered"})
            else:
                self._answer(404, {"reference": reference, "status": "unknown"})

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
