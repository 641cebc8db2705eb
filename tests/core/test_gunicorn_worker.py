"""The gunicorn worker keeps an idle new connection from holding a thread (real gunicorn).

One worker with one thread: with gunicorn's stock ``gthread`` worker, a client that connects and
sends nothing holds that thread for 5 seconds, and a request on another connection waits behind
it. ``PollingThreadWorker`` parks the silent connection in its poller: the request is answered at
once, and the silent connection is closed after ``keepalive`` seconds.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := client.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def _gunicorn(tmp_path: Path, worker_class: str) -> Iterator[int]:
    (tmp_path / "tiny_app.py").write_text(APP)
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path)]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1"]
    command += ["--keep-alive", "2", "--worker-class", worker_class, "--pythonpath", str(ROOT)]
    command.append("tiny_app:application")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if _get(port, timeout=1).endswith(b"ok"):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def polling_server(tmp_path: Path) -> Iterator[int]:
    yield from _gunicorn(tmp_path, "config.gunicorn_worker.PollingThreadWorker")


def test_a_silent_connection_does_not_delay_other_requests(polling_server):
    with socket.create_connection(("127.0.0.1", polling_server)) as silent:
        time.sleep(0.3)  # the worker has accepted it by now
        started = time.monotonic()
        answer = _get(polling_server, timeout=10)
        elapsed = time.monotonic() - started
        silent.settimeout(6)
        closed_after = time.monotonic()
        assert silent.recv(1) == b""  # closed by the worker's sweep of pending connections
        waited = time.monotonic() - closed_after

    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"ok")
    assert elapsed < 1.0, f"answered in {elapsed:.2f} s"
    assert waited < 4.5, f"silent connection closed after {waited:.2f} s more"


def test_the_stock_gthread_worker_is_delayed_by_a_silent_connection(tmp_path):
    """The behaviour the worker exists to avoid; if gunicorn fixes it, this test says so."""
    for port in _gunicorn(tmp_path, "gthread"):
        with socket.create_connection(("127.0.0.1", port)):
            time.sleep(0.3)
            started = time.monotonic()
            _get(port, timeout=10)
            elapsed = time.monotonic() - started
        if elapsed < 1.0:
            pytest.fail("gunicorn's gthread no longer waits for data in a pool thread: drop ours")
        assert elapsed >= 4.0
