"""A small HTTP client for deliveries from tasks: separate connect and read timeouts.

Used by the SMS gateway adapter (sending, and the status query after an interrupted attempt)
and by webhook deliveries. It only ever runs inside Celery
tasks, never in a request. The standard library is enough here: one POST, bounded in time
(connect timeout, read timeout per socket operation, and an overall deadline so an endpoint
that trickles bytes cannot hold a worker), with a bounded response body.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 64 * 1024
READ_CHUNK = 8192


class HTTPDeliveryError(Exception):
    """The request could not be completed (connection refused, timeout, bad URL)."""

    def __init__(self, message: str, *, timed_out: bool = False, duration_ms: int = 0) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.duration_ms = duration_ms


@dataclass(frozen=True)
class HTTPResult:
    """The answer of the remote end (any status: the caller decides what counts as success)."""

    status: int
    body: bytes
    duration_ms: int

    @property
    def is_success(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


def _connection(url: str, connect_timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPDeliveryError("unsupported URL")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname,
            parts.port,
            timeout=connect_timeout,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect_timeout)
    return connection, path


def http_post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    connect_timeout: float,
    read_timeout: float,
) -> HTTPResult:
    """POST ``body`` to ``url``; raise ``HTTPDeliveryError`` unless an answer came in time.

    ``connect_timeout`` bounds the TCP (and TLS) handshake; ``read_timeout`` bounds each wait
    for the answer and the whole reading of it.
    """
    return http_request(
        "POST",
        url,
        body=body,
        headers=headers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def http_get(
    url: str, *, headers: Mapping[str, str], connect_timeout: float, read_timeout: float
) -> HTTPResult:
    """GET ``url``, bounded in time like ``http_post``."""
    return http_request(
        "GET",
        url,
        body=None,
        headers=headers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None,
    headers: Mapping[str, str],
    connect_timeout: float,
    read_timeout: float,
) -> HTTPResult:
    """One request, bounded in time (see ``http_post``)."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    connection, path = _connection(url, connect_timeout)
    try:
        try:
            connection.connect()
        except TimeoutError as exc:
            raise HTTPDeliveryError(
                "connect timeout", timed_out=True, duration_ms=elapsed_ms()
            ) from exc
        except OSError as exc:
            raise HTTPDeliveryError(
                f"connection failed: {exc.__class__.__name__}", duration_ms=elapsed_ms()
            ) from exc
        assert connection.sock is not None
        connection.sock.settimeout(read_timeout)
        deadline = time.monotonic() + read_timeout
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            while size < MAX_RESPONSE_BYTES:
                if time.monotonic() > deadline:
                    raise TimeoutError("read deadline")
                chunk = response.read1(READ_CHUNK)  # returns what arrived: deadline checks
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except TimeoutError as exc:
            raise HTTPDeliveryError(
                "read timeout", timed_out=True, duration_ms=elapsed_ms()
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise HTTPDeliveryError(
                f"request failed: {exc.__class__.__name__}", duration_ms=elapsed_ms()
            ) from exc
        return HTTPResult(
            status=response.status,
            body=b"".join(chunks)[:MAX_RESPONSE_BYTES],
            duration_ms=elapsed_ms(),
        )
    finally:
        connection.close()
