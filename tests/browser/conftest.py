"""Browser tests: Playwright driving Debian's Chromium against an in-process server.

The pages people look at (console, verification page) are tested by looking. Nothing is
downloaded at run time: Playwright's Python package drives the Chromium of the Debian package
(``/usr/bin/chromium``, or ``GUICHET_CHROMIUM``); without it these tests skip and say why
(.ci/run installs the package).

The server runs in a thread of the test process and answers through the *test's own database
connection*, one request at a time (a lock), so a browser test sees the rows its test created
and everything is rolled back at its end like any other test: no flushing, agencies A and B
stay. Hosts are ``<agency host>:<port>``; Chromium resolves every ``*.localhost`` name to the
loopback address by itself.

Fixtures:

- ``browser``: one Chromium per module;
- ``page``: a fresh context per test, 1366×768, ``fr-FR``, no outside network;
- ``live_url``: ``live_url(host, path="/")`` → ``http://host:port/path`` served by the test
  server (which starts on first use).
- ``console_login(page, user, host)``: signs ``user`` into the console of ``host`` by setting a
  session cookie (the one place that knows how a console session is opened in tests).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}


def chromium_path() -> str | None:
    """Debian's Chromium, or the executable named by ``GUICHET_CHROMIUM``."""
    named = os.environ.get("GUICHET_CHROMIUM")
    if named:
        return named if os.path.exists(named) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _SharedConnectionApp:
    """The Django application answering on the test's connection, one request at a time."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.app = StaticFilesHandler(WSGIHandler())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.lock:
            connections["default"] = self.conn
            # Buffer the body inside the lock: a streamed response reads the database too.
            response = self.app(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
            return [body]


class LiveServer:
    """A WSGI server thread bound to 127.0.0.1 on a free port."""

    def __init__(self, conn: Any) -> None:
        self.app = _SharedConnectionApp(conn)
        self.server: WSGIServer = make_server(
            "127.0.0.1", 0, self.app, server_class=WSGIServer, handler_class=_QuietHandler
        )
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's) per test module (its event loop ends with the module, so
    the tests after these do not run beside it)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Debian's Chromium is not installed (apt-get install chromium); .ci/run installs it"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    # Playwright's synchronous API keeps an event loop in this thread; Django's ORM refuses to
    # run beside a running loop unless told that it is safe (it is: nothing here is async).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def _close_connections_last() -> Iterator[None]:
    """Closes this test's connections after its transaction is rolled back: beside Playwright's
    greenlets the test may hold its own connection object, which the session's teardown would not
    see (and dropping the test database would then fail on an open session)."""
    yield
    connections.close_all()


@pytest.fixture
def live_server_shared(_close_connections_last: None, db: None) -> Iterator[LiveServer]:
    """The in-process server for this test, answering on this test's connection."""
    # The test client's trick: requests must not close the test's connection or end its
    # transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    shared = connections["default"]  # the wrapper itself, not the thread-local proxy
    shared.inc_thread_sharing()
    server = LiveServer(shared)
    try:
        yield server
    finally:
        server.stop()
        shared.dec_thread_sharing()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def live_url(live_server_shared: LiveServer) -> Callable[..., str]:
    """``live_url(host, path="/")``: the URL of ``path`` on ``host`` served by the test server."""
    return live_server_shared.url


@pytest.fixture
def page(browser: Any, live_server_shared: LiveServer) -> Iterator[Any]:
    """A fresh French page at 1366×768 that can reach only the test server."""
    context = browser.new_context(
        viewport=VIEWPORT, locale="fr-FR", extra_http_headers={"Accept-Language": "fr"}
    )
    port = live_server_shared.port

    def only_loopback(route: Any) -> None:
        from urllib.parse import urlsplit

        target = urlsplit(route.request.url)
        local = (target.hostname or "").endswith("localhost") and target.port == port
        if local or target.scheme in ("data", "blob"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_loopback)
    browser_page = context.new_page()
    yield browser_page
    context.close()


@pytest.fixture
def console_login(live_server_shared: LiveServer) -> Callable[..., None]:
    """``console_login(page, user, host)``: a console session for ``user`` on ``host``."""
    from django.test import Client

    def login(page: Any, user: Any, host: str) -> None:
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": cookie.value,
                    "url": live_server_shared.url(host, "/"),
                }
            ]
        )

    return login
