"""What the token denylist and the throttles add to a request, in-process, on LMDB.

Run: ``.venv/bin/python benches/bench_request_checks.py`` (about 10 s; ``-n`` sets the
iterations, default 20,000, at least 5,000).

Each iteration authenticates one bearer token of a pool of 1,000 people the way
``AgencyBoundJWTAuthentication`` does before its database lookup (signature, expiry, issuer,
audience, kind, agency binding), twice, in alternating order:

* **without**: the JWT checks only;
* **with**: the JWT checks, then ``denylist.token_is_revoked`` (two LMDB reads: the ``jti``
  and the person's "revoked before" marker) and the two default throttles that apply to a
  person on an agency host, ``UserRateThrottle`` and ``AgencyRateThrottle`` (one atomic
  ``add`` each: an LMDB write transaction).

The store is a fresh LMDB environment (default options, ``sync=False``) already holding
10,000 denylisted ``jti`` and 1,000 "revoked before" markers of other people, so lookups walk
a realistic B-tree. The rates are high enough that every request is allowed (the common
case). Two readings of the goal (under 0.3 ms added at p95) are printed: the p95 of
**with** minus the p95 of **without**, and the p95 of the checks timed alone. On a shared,
loaded machine the first mostly measures preemption (the longer path is interrupted more
often), so the load average is printed with the figures.

No database is touched (the user lookup that follows in a real request is the same with and
without the checks). Results: a Markdown table on stdout and
``benches/results/request_checks.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from apps.accounts import denylist  # noqa: E402
from apps.accounts.authentication import AgencyBoundJWTAuthentication, token_kind  # noqa: E402
from apps.accounts.models import User  # noqa: E402
from apps.accounts.tokens import AGENCY_BOUND_KINDS, TokenKind  # noqa: E402
from apps.core.throttling import AgencyRateThrottle, UserRateThrottle  # noqa: E402
from apps.hotkeys.registry import get_store, reset_stores  # noqa: E402

RESULTS = ROOT / "benches" / "results" / "request_checks.json"
PEOPLE = 1_000
GOAL_MS = 0.3


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _tokens(people: list[User]) -> list[bytes]:
    from rest_framework_simplejwt.tokens import AccessToken

    raws = []
    for person in people:
        token = AccessToken()
        token["sub"] = str(person.pk)
        token["kind"] = str(TokenKind.STAFF)
        token["agency"] = "agence_a"
        token["role"] = "agent"
        token["amr"] = ["pwd", "otp", "mfa"]  # staff tokens exist only with a second factor
        raws.append(str(token).encode())
    return raws


def run(iterations: int) -> dict[str, Any]:
    """Measure and return the figures (milliseconds)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-request-checks-"))
    hotkeys = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {"path": str(workdir / "hotkeys")},
        }
    }
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    rates.update({"user": "100000000/min", "agency": "100000000/min"})
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    try:
        with override_settings(HOTKEYS=hotkeys, REST_FRAMEWORK=rest):
            reset_stores()
            cast_connection: Any = connection
            cast_connection.set_schema("agence_a")  # attributes only: no query is sent
            for _ in range(10_000):
                denylist.access_token_deny(jti=uuid.uuid4().hex, exp=time.time() + 600)
            for _ in range(PEOPLE):
                denylist.user_tokens_revoke_before(user_id=str(uuid.uuid4()))
            people = [User(id=uuid.uuid4(), email=f"p{i}@example.tg") for i in range(PEOPLE)]
            raws = _tokens(people)
            auth = AgencyBoundJWTAuthentication()
            factory = APIRequestFactory()
            requests = []
            tenant = SimpleNamespace(schema_name="agence_a")  # what AgencyMiddleware attaches
            for person in people:
                request = Request(factory.get("/api/v1/staff/me/"))
                request._request.tenant = tenant
                request.user = person
                requests.append(request)
            user_throttle, agency_throttle = UserRateThrottle(), AgencyRateThrottle()

            def without(i: int) -> Any:
                token = auth.get_validated_token(raws[i % PEOPLE])
                kind = token_kind(token)
                assert kind in AGENCY_BOUND_KINDS
                assert token.get("agency") == "agence_a"
                return token

            def checks(token: Any, i: int) -> None:
                assert not denylist.token_is_revoked(token)
                request = requests[i % PEOPLE]
                assert user_throttle.allow_request(request, None)
                assert agency_throttle.allow_request(request, None)

            for i in range(2_000):  # warm-up: imports, caches, the B-tree pages
                checks(without(i), i)

            base, full, alone = [], [], []
            clock = time.perf_counter_ns
            # As timeit does: no garbage-collector pause lands inside a timed call (the
            # collector's pauses depend on the whole heap, not on the code measured).
            gc.collect()
            gc.disable()
            for i in range(iterations):
                if i % 2:
                    started = clock()
                    without(i)
                    base.append(clock() - started)
                started = clock()
                token = without(i)
                middle = clock()
                checks(token, i)
                ended = clock()
                full.append(ended - started)
                alone.append(ended - middle)
                if not i % 2:
                    started = clock()
                    without(i)
                    base.append(clock() - started)
            gc.enable()
            store_entries = sum(len(page) for page in get_store().iter_raw())
    finally:
        reset_stores()
        shutil.rmtree(workdir, ignore_errors=True)

    def summary(samples: list[int]) -> dict[str, float]:
        ms = [s / 1e6 for s in samples]
        return {
            "p50": statistics.median(ms),
            "p95": _percentile(ms, 0.95),
            "p99": _percentile(ms, 0.99),
        }

    result = {
        "iterations": iterations,
        "store_entries": store_entries,
        "without": summary(base),
        "with": summary(full),
        "checks_alone": summary(alone),
    }
    result["added_p95"] = result["with"]["p95"] - result["without"]["p95"]
    result["goal_ms"] = GOAL_MS
    # Both readings of "adds under 0.3 ms at p95": the difference of the two paths' p95, and
    # the p95 of the checks timed alone. On a loaded machine the first is dominated by
    # preemption (the longer path is more often interrupted); see the load average printed.
    result["goal_met_difference"] = result["added_p95"] < GOAL_MS
    result["goal_met_checks_alone"] = result["checks_alone"]["p95"] < GOAL_MS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--iterations", type=int, default=20_000)
    args = parser.parse_args()
    iterations = max(5_000, args.iterations)
    result = run(iterations)
    result["machine"] = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"{iterations} iterations, LMDB holding {result['store_entries']} entries\n")
    print("| request path | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for label, name in (
        ("JWT checks only (without)", "without"),
        ("JWT + denylist + 2 throttles (with)", "with"),
        ("denylist + 2 throttles alone", "checks_alone"),
    ):
        row = result[name]
        print(f"| {label} | {row['p50']:.4f} | {row['p95']:.4f} | {row['p99']:.4f} |")

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    load = ", ".join(f"{value:.2f}" for value in result["machine"]["load_average"])
    print(f"\nLoad average after the run: {load} ({os.cpu_count()} CPUs)")
    print(
        f"Added at p95, difference of the paths: {result['added_p95']:.4f} ms "
        f"(goal < {GOAL_MS} ms: {verdict(result['goal_met_difference'])})"
    )
    print(
        f"Added at p95, checks timed alone: {result['checks_alone']['p95']:.4f} ms "
        f"(goal < {GOAL_MS} ms: {verdict(result['goal_met_checks_alone'])})"
    )


if __name__ == "__main__":
    main()
