"""The delivery HTTP client: bounded connect, bounded reading, clear failures."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from apps.outbox.http import HTTPDeliveryError, http_post
from tests.outbox.builders import http_receiver


def _post(url: str, **kw):
    return http_post(
        url,
        body=b"{}",
        headers={"Content-Type": "application/json"},
        connect_timeout=kw.pop("connect_timeout", 1.0),
        read_timeout=kw.pop("read_timeout", 0.3),
    )


def test_a_post_returns_status_body_and_duration():
    with http_receiver(status=201) as receiver:
        result = _post(receiver.url + "?source=guichet")
    assert result.status == 201
    assert result.is_success
    assert result.body == b'{"ok": true}'
    assert result.duration_ms >= 0
    assert receiver.requests[0].path == "/hook?source=guichet"


@pytest.mark.parametrize("url", ["ftp://example.tg/x", "http:///nohost", "not a url"])
def test_unsupported_urls_are_refused(url):
    with pytest.raises(HTTPDeliveryError, match="unsupported URL"):
        _post(url)


def test_https_to_a_plain_http_server_fails_cleanly():
    with (
        http_receiver(status=200) as receiver,
        pytest.raises(HTTPDeliveryError, match=r"connection failed|request failed"),
    ):
        _post(receiver.url.replace("http://", "https://"))


def test_a_connect_timeout_is_reported_as_a_timeout(monkeypatch):
    def slow_connect(self):
        raise TimeoutError("timed out")

    monkeypatch.setattr(http.client.HTTPConnection, "connect", slow_connect)
    with pytest.raises(HTTPDeliveryError) as error:
        _post("http://127.0.0.1:9/x")
    assert error.value.timed_out


def test_an_endpoint_trickling_its_answer_is_cut_at_the_read_timeout():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def trickle() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(40):  # one byte every 0.1 s: each read is fast, the whole is not
                conn.sendall(b"x")
                time.sleep(0.1)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(HTTPDeliveryError) as error:
            _post(f"http://127.0.0.1:{port}/x", read_timeout=0.5)
    finally:
        server.close()
    assert error.value.timed_out
    assert time.monotonic() - started < 2.0


def test_a_connection_dropped_mid_answer_is_a_request_failure():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def drop() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        conn.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        with pytest.raises(HTTPDeliveryError, match="request failed"):
            _post(f"http://127.0.0.1:{port}/x")
    finally:
        server.close()
