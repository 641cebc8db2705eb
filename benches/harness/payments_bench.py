"""The payments section: payment initiation latency and authenticated callbacks per second.

Gunicorn with production settings talks to the aggregator simulator (``apps.payments.simulator``,
started in this process on a loopback port of 9750–9799) over real HTTP. Two measurements:

* **initiation** (``POST /api/v1/applications/{id}/payments/`` with an Idempotency-Key: the
  attempt committed, then the aggregator asked): first the maximum rate with
  ``BENCH_PAYMENTS_CONCURRENCY`` closed-loop clients, then an open-loop run at 70 % of it whose
  latency counts from each request's scheduled start (no coordinated omission); target p95 <
  100 ms;
* **callbacks**: signed callbacks (HMAC) for payments the simulator reports paid, each one
  verified and answered (``PAYMENTS_CALLBACK_SETTLE=worker``: the re-check with the provider
  and the settlement — payment, application hand-over, audit, outbox — run in a Celery
  worker) — callbacks per second, target ≥ 200; then the worker is started and the time to
  settle them all is measured; then the same callbacks again (duplicates, already final).

The load average is recorded before and after: the machine is shared.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apps.payments.providers.aggregator import sign
from apps.payments.simulator import AggregatorSimulator, SimulatedPayment
from benches.harness import stack
from benches.harness.config import BenchConfig
from benches.harness.stack import log

TOKEN = "bench-aggregator-token"
SECRET = "bench-callback-secret"
PORTS = range(9750, 9800)


def _simulator() -> AggregatorSimulator:
    for port in PORTS:
        with contextlib.suppress(OSError):
            simulator = AggregatorSimulator(port=port, token=TOKEN, secret=SECRET)
            simulator.behaviour["confirm_after"] = None  # citizens never confirm during the run
            return simulator.start()
    raise RuntimeError("no free port in 9750-9799 for the aggregator simulator")


def _port_in_range() -> int:
    """A free loopback port of 9760-9799 (the simulator takes the first of 9750-9799)."""
    import socket

    for port in range(9760, 9800):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return stack.free_port()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Client:
    """One keep-alive HTTP connection to gunicorn."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(
        self, path: str, body: bytes | None, headers: dict[str, str], method: str = "POST"
    ) -> int:
        for attempt in (1, 2):
            try:
                self.connection.request(
                    method, path, body=body, headers={"Host": self.host, **headers}
                )
                response = self.connection.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    return 0
        return 0


def _closed_loop(
    items: list[Any], concurrency: int, make: Callable[[Client, Any], int], port: int, host: str
) -> dict[str, Any]:
    """Every item once, ``concurrency`` clients as fast as they can."""
    lock = threading.Lock()
    queue = list(reversed(items))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def worker() -> None:
        client = Client(port, host)
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            started = time.perf_counter()
            status = make(client, item)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "rps": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _open_loop(
    items: list[Any],
    rate: float,
    concurrency: int,
    make: Callable[[Client, Any], int],
    port: int,
    host: str,
) -> dict[str, Any]:
    """Requests scheduled at ``rate`` per second; latency from the scheduled start."""
    lock = threading.Lock()
    schedule = [(index / rate, item) for index, item in enumerate(items)]
    schedule.reverse()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    origin = time.perf_counter() + 0.2

    def worker() -> None:
        client = Client(port, host)
        while True:
            with lock:
                if not schedule:
                    return
                offset, item = schedule.pop()
            due = origin + offset
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = make(client, item)
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - origin
    return {
        "target_rps": round(rate, 1),
        "requests": len(latencies),
        "achieved_rps": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _wait_settled(database_url: str, identifiers: list[str], *, deadline: float) -> int:
    """Wait until the worker settled every payment (or ``deadline`` seconds); how many it did."""
    import psycopg

    ends = time.monotonic() + deadline
    settled = 0
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.monotonic() < ends:
            row = connection.execute(
                "SELECT count(*) FROM bench_pay.payments_payment "
                "WHERE identifier = ANY(%s) AND status = 'succeeded'",
                (identifiers,),
            ).fetchone()
            settled = int(row[0]) if row else 0
            if settled >= len(identifiers):
                break
            time.sleep(0.5)
    return settled


def run_payments(
    config: BenchConfig, env: dict[str, str], quiet: dict[str, str], var: Path
) -> dict[str, Any]:
    """Seed, start the simulator and gunicorn, measure; the section's results."""
    initiations = int(os.environ.get("BENCH_PAYMENTS_INITIATIONS", "2400"))
    callbacks = int(os.environ.get("BENCH_PAYMENTS_CALLBACKS", "2000"))
    concurrency = int(os.environ.get("BENCH_PAYMENTS_CONCURRENCY", "8"))
    if config.quick:
        initiations, callbacks = initiations // 4, callbacks // 4
    simulator = _simulator()
    load_before = [round(x, 2) for x in os.getloadavg()]
    state_path = var / "payments-state.json"
    log(f"payments: seeding {initiations} applications and {callbacks} pending payments")
    stack.run_module(
        quiet,
        "benches.harness.payments_seed",
        "--out", str(state_path),
        "--initiations", str(initiations),
        "--callbacks", str(callbacks),
    )  # fmt: skip
    state = json.loads(state_path.read_text())
    host, tokens = state["host"], state["tokens"]
    web_env = {
        **env,
        "PAYMENTS_AGGREGATOR_URL": simulator.url,
        "PAYMENTS_AGGREGATOR_TOKEN": TOKEN,
        "PAYMENTS_CALLBACK_SECRET": SECRET,
        "PAYMENTS_CALLBACK_SETTLE": "worker",
    }
    # gunicorn on a loopback port of this section's range too (9750-9799, after the simulator).
    free_port = stack.free_port
    stack.free_port = _port_in_range  # type: ignore[assignment]
    try:
        web, port = stack.start_gunicorn(web_env, var, workers=config.gunicorn_workers)
    finally:
        stack.free_port = free_port  # type: ignore[assignment]
    results: dict[str, Any] = {"simulator": simulator.url, "concurrency": concurrency}
    try:

        def initiate(client: Client, item: list[str]) -> int:
            application_id, citizen_id = item
            body = json.dumps({"network": "tmoney", "phone": "+22890123456"}).encode()
            return client.post(
                f"/api/v1/applications/{application_id}/payments/",
                body,
                {
                    "Authorization": f"Bearer {tokens[citizen_id]}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )

        log("payments: floor (GET /healthz, same clients, same moment)")
        results["floor"] = _closed_loop(
            list(range(1500)),
            concurrency,
            lambda client, _item: client.post("/healthz", None, {}, method="GET"),
            port,
            host,
        )
        items = state["initiations"]
        warm, saturate, paced = items[:50], items[50 : len(items) // 2], items[len(items) // 2 :]
        _closed_loop(warm, 2, initiate, port, host)
        log("payments: initiation at the maximum rate (closed loop)")
        maximum = _closed_loop(saturate, concurrency, initiate, port, host)
        rate = max(1.0, maximum["rps"] * 0.7)
        log(f"payments: initiation at 70 % of {maximum['rps']}/s (open loop)")
        paced_result = _open_loop(paced, rate, concurrency * 4, initiate, port, host)
        results["initiation"] = {"max": maximum, "at_70_percent": paced_result}

        for identifier, phone in state["callbacks"]:
            simulator.payments[identifier] = SimulatedPayment(
                identifier=identifier,
                amount=state["fee"],
                phone=phone,
                network="TMONEY",
                callback_url="",
                status="paid",
                payment_reference=f"MM{identifier[-6:]}",
            )

        def callback(client: Client, identifier: str) -> int:
            payment = simulator.payments[identifier]
            body = simulator.callback_body(payment)
            return client.post(
                "/api/v1/payments/callback/",
                body,
                {
                    "Content-Type": "application/json",
                    "X-Payment-Signature": sign(SECRET, body, int(time.time())),
                },
            )

        identifiers = [identifier for identifier, _phone in state["callbacks"]]
        log("payments: first callbacks (verified, answered; a worker re-checks and settles)")
        results["callbacks"] = _closed_loop(identifiers, concurrency, callback, port, host)
        worker = stack.start_celery_worker(web_env, var, concurrency=2)
        started = time.perf_counter()
        try:
            settled = _wait_settled(env["DATABASE_URL"], identifiers, deadline=300)
        finally:
            worker.stop()
        seconds = time.perf_counter() - started
        results["settlement"] = {
            "payments": len(identifiers),
            "settled": settled,
            "seconds": round(seconds, 1),
            "per_second": round(settled / seconds, 1) if seconds else 0.0,
            "worker_concurrency": 2,
        }
        log("payments: the same callbacks again (duplicates of final payments)")
        results["duplicate_callbacks"] = _closed_loop(
            identifiers, concurrency, callback, port, host
        )
        results["simulator_requests"] = dict(simulator.requests)
    finally:
        web.stop()
        simulator.stop()
    results["load_average_before"] = load_before
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def markdown(payments: dict[str, Any]) -> list[str]:
    """The section's lines in ``latest.md``."""
    if not payments:
        return []
    initiation = payments["initiation"]
    lines = [
        "## Payments (mobile money through the aggregator simulator)",
        "",
        "| measure | requests | rate | p50 | p95 | p99 | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    maximum, paced = initiation["max"], initiation["at_70_percent"]
    floor = payments.get("floor")
    if floor:
        lines.append(
            f"| floor: GET /healthz ({payments['concurrency']} clients) | {floor['requests']} | "
            f"{floor['rps']}/s | {floor['p50_ms']} ms | {floor['p95_ms']} ms | – | "
            f"{floor['statuses']} |"
        )
    lines.append(
        f"| initiation, max (closed loop, {payments['concurrency']} clients) | "
        f"{maximum['requests']} | {maximum['rps']}/s | {maximum['p50_ms']} ms | "
        f"{maximum['p95_ms']} ms | – | {maximum['statuses']} |"
    )
    lines.append(
        f"| initiation at 70 % ({paced['target_rps']}/s asked, open loop) | {paced['requests']} | "
        f"{paced['achieved_rps']}/s | {paced['p50_ms']} ms | {paced['p95_ms']} ms | "
        f"{paced['p99_ms']} ms | {paced['statuses']} |"
    )
    for key, label in (
        ("callbacks", "callbacks, first (verified, answered)"),
        ("duplicate_callbacks", "callbacks, duplicates (final payments)"),
    ):
        result = payments[key]
        lines.append(
            f"| {label} | {result['requests']} | {result['rps']}/s | {result['p50_ms']} ms | "
            f"{result['p95_ms']} ms | – | {result['statuses']} |"
        )
    settlement = payments["settlement"]
    lines += [
        "",
        f"Settlement by a Celery worker ({settlement['worker_concurrency']} processes): "
        f"{settlement['settled']} of {settlement['payments']} payments re-checked with the "
        f"simulator and settled in {settlement['seconds']} s ({settlement['per_second']}/s).",
        "",
        f"Load average before {payments['load_average_before']}, after "
        f"{payments['load_average_after']} (shared machine).",
        "",
    ]
    return lines
