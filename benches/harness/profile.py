"""Profile one endpoint in-process: where a request's CPU time goes.

``python -m benches.harness.profile --state var/bench/state.json --endpoint staff [-n 300]``
with the bench environment (``make bench`` writes the state file). Requests go through
Django's WSGI handler as gunicorn calls it; the top functions by own time and by cumulative
time are printed, with the mean wall time per request.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from benches.harness.roundtrips import call, drafts_left  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument(
        "--endpoint", default="staff", choices=("floor", "services", "me", "staff", "submit")
    )
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    state = json.loads(args.state.read_text())
    hosts, tokens = state["hosts"], state["tokens"]
    requests = {
        "floor": ("/bench/floor", hosts["public"], {}),
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
    handler = WSGIHandler()
    if args.endpoint == "submit":
        drafts = iter(drafts_left(state, 2 * args.n + 5))

        def one() -> int:
            pk, token = next(drafts)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"profile-{pk}"}
            path = f"/api/v1/applications/{pk}/submit/"
            return call(handler, "POST", path, hosts["submit"], headers, b"{}")

    else:
        path, host, headers = requests[args.endpoint]

        def one() -> int:
            return call(handler, "GET", path, host, headers, b"")

    for _ in range(5):
        status = one()
    if status != 200:
        raise SystemExit(f"{args.endpoint} answered {status}")
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.n):
        one()
    plain = (time.perf_counter() - started) / args.n
    cpu = (time.process_time() - cpu_started) / args.n
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        one()
    profiler.disable()
    print(
        f"{args.endpoint}: {plain * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU of this process "
        "per request without the profiler"
    )
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
