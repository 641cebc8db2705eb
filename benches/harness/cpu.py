"""CPU time per request of the hot endpoints, in process, for before/after comparisons.

``python -m benches.harness.cpu --state var/bench/state.json [-n 200] [--rounds 3]`` with the
bench environment (``make bench`` writes the state file), run from the checkout to measure:
another checkout of the same repository (``git archive <commit>``, with this file copied in)
is measured with the same state and database by running the module with that checkout as the
working directory and ``PYTHONPATH``. Requests go through Django's WSGI handler as gunicorn
calls it (whole middleware stack, JWT, throttles in the hot-key store, rendering, the request
log); each round times ``-n`` requests per endpoint with ``time.process_time``, after
``gc.freeze()`` as in a gunicorn worker (otherwise every full collection also walks whatever
the checkout imported). Prints one JSON object: the CPU milliseconds per request of every
round, per endpoint.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from benches.harness.roundtrips import call, drafts_left  # noqa: E402

ENDPOINTS = ("services", "me", "staff", "submit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    state = json.loads(args.state.read_text())
    hosts, tokens = state["hosts"], state["tokens"]
    handler = WSGIHandler()
    gets = {
        "services": ("/api/v1/services/", hosts["lists"], {}),
        "me": (
            "/api/v1/me/applications/",
            hosts["public"],
            {"Authorization": f"Bearer {tokens['citizen']}"},
        ),
        "staff": (
            "/api/v1/staff/applications/?status=submitted&page_size=50",
            hosts["lists"],
            {"Authorization": f"Bearer {tokens['agent']}"},
        ),
    }
    # Every draft still unsubmitted (earlier runs used some), as many as this run needs.
    drafts = iter(drafts_left(state, 10**7)[: args.rounds * args.n + 5])

    def one(endpoint: str) -> int:
        if endpoint == "submit":
            pk, token = next(drafts)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"cpu-{pk}"}
            path = f"/api/v1/applications/{pk}/submit/"
            return call(handler, "POST", path, hosts["submit"], headers, b"{}")
        path, host, headers = gets[endpoint]
        return call(handler, "GET", path, host, headers, b"")

    for endpoint in ENDPOINTS:  # warm-up: imports, caches, connections
        for _ in range(5 if endpoint == "submit" else 20):
            status = one(endpoint)
        if status != 200:
            raise SystemExit(f"{endpoint} answered {status}")
    gc.freeze()  # as gunicorn's master does before forking (config/gunicorn.conf.py)
    results: dict[str, list[float]] = {endpoint: [] for endpoint in ENDPOINTS}
    for _ in range(args.rounds):
        for endpoint in ENDPOINTS:
            started = time.process_time()
            for _ in range(args.n):
                one(endpoint)
            results[endpoint].append((time.process_time() - started) / args.n * 1000)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
