"""Gunicorn's threaded worker, waiting for a new connection's first request in its poller.

Since gunicorn 24 the ``gthread`` worker hands every accepted connection straight to a pool
thread, which then waits up to 5 seconds for the first bytes of a request. A client that
connects before it has something to send (a browser or phone preconnecting, a load balancer's
pool, a slow mobile network) holds one of the worker's few threads meanwhile, and the requests
of every other connection of that worker queue behind it. Under 256 paced connections this put
the p95 of a trivial view at 300-700 ms while the application itself answered in under 3 ms
(benches/README.md, "Performance budget").

``PollingThreadWorker`` does what gunicorn 21-23 did and gunicorn's own proposal to restore
(pull request 3635): a new connection waits in the main thread's poller, like a kept-alive one,
and reaches a thread only once its request has started to arrive. A connection that sends
nothing is closed after ``keepalive`` seconds by the worker's own pending-connection sweep.
Everything else is gunicorn's ``ThreadWorker``.
"""

from __future__ import annotations

import errno
import selectors
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker


class PollingThreadWorker(ThreadWorker):
    """``gthread`` with new connections parked in the poller until they are readable."""

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(False)
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        # The pending list is swept in order of timeout: every entry gets now + keepalive.
        conn.timeout = time.monotonic() + max(self.cfg.keepalive, 1)
        self.pending_conns.append(conn)
        self.poller.register(
            client_sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )
