"""The HTTP section: the floor and four API endpoints under gunicorn, closed loop then fixed rate.

For each endpoint: a warm-up (untimed), ``connections`` connections closed loop for
``duration`` seconds (throughput, p50/p95/p99), then ``rate_connections`` connections at
``rate_fraction`` of the throughput just measured for ``rate_duration`` seconds (latency at a
sustainable load). The submit endpoint consumes one prepared draft per request; each phase gets
its own slice of the drafts so no phase replays another's.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benches.harness.config import BenchConfig
from benches.harness.load import LoadGenerator, LoadResult, Target
from benches.harness.stack import log

ENDPOINTS = ("floor", "services", "me", "staff", "submit", "approve", "two_agencies")
LABELS = {
    "floor": "floor: bare Django JSON view",
    "services": "GET /api/v1/services/ (anonymous)",
    "me": "GET /api/v1/me/applications/ (citizen)",
    "staff": "GET /api/v1/staff/applications/?status=submitted (agent, 50/page)",
    "submit": "POST /api/v1/applications/{id}/submit/ (Idempotency-Key)",
    "approve": "POST /api/v1/staff/applications/{id}/approve/ (agent, If-Match)",
    "two_agencies": "POST submit in two agencies at once (2 × 32 connections)",
}
# Endpoints that consume one prepared row per request, and their rows' file in the state.
CONSUMING = {"submit": "drafts_file", "approve": "approvals_file"}


def targets(state: dict[str, Any]) -> dict[str, Target]:
    """The five targets, from the seed's state file."""
    hosts, tokens = state["hosts"], state["tokens"]
    return {
        "floor": Target("floor", "GET", "/bench/floor", hosts["public"]),
        "services": Target("services", "GET", "/api/v1/services/", hosts["lists"]),
        "me": Target(
            "me",
            "GET",
            "/api/v1/me/applications/",
            hosts["public"],
            {"Authorization": f"Bearer {tokens['citizen']}"},
        ),
        "staff": Target(
            "staff",
            "GET",
            "/api/v1/staff/applications/?status=submitted&page_size=50",
            hosts["lists"],
            {"Authorization": f"Bearer {tokens['agent']}"},
        ),
        "submit": Target("submit", "POST", "/api/v1/applications/{id}/submit/", hosts["submit"]),
        "approve": Target(
            "approve", "POST", "/api/v1/staff/applications/{id}/approve/", hosts["submit"]
        ),
    }


def probe(base_url: str, target: Target) -> tuple[int | None, str]:
    """One request: (status, short body) — is the endpoint there and answering 200?"""
    request = urllib.request.Request(
        base_url + target.path, headers={"Host": target.host, **target.headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read(300).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(300).decode(errors="replace")
    except OSError as error:
        return None, str(error)


def split_drafts(drafts_file: str, var: Path, parts: dict[str, float]) -> dict[str, str]:
    """Split the drafts into one file per phase, in the given proportions."""
    var.mkdir(parents=True, exist_ok=True)
    lines = Path(drafts_file).read_text().splitlines(keepends=True)
    files: dict[str, str] = {}
    start = 0
    total = sum(parts.values())
    for index, (name, share) in enumerate(parts.items()):
        count = len(lines) - start if index == len(parts) - 1 else int(len(lines) * share / total)
        path = var / f"drafts-{name}.txt"
        path.write_text("".join(lines[start : start + count]))
        files[name] = str(path)
        start += count
    return files


def run_http(
    config: BenchConfig,
    load: LoadGenerator,
    base_url: str,
    state: dict[str, Any],
    var: Path,
    database_url: str = "",
) -> dict[str, Any]:
    """Measure every endpoint; returns ``{endpoint: {"closed": ..., "rate": ...}}``.

    The writes (submit, approve, two agencies) are followed by the audit sealing figures of
    their agency (``sealing``: how long events waited for their place while the sealing loop
    ran beside the server).
    """
    wanted = config.endpoints or ENDPOINTS
    results: dict[str, Any] = {}
    shares = {"warmup": 0.06, "closed": 0.36, "rate": 0.30, "pair": 0.28}
    rows = {
        name: split_drafts(state[key], var / name, shares)
        for name, key in CONSUMING.items()
        if state.get(key)
    }
    for name, target in targets(state).items():
        if name not in wanted:
            continue
        phases = {"warmup": target, "closed": target, "rate": target}
        started = time.time()
        monitor = _BacklogMonitor(database_url, state.get("schemas", {}).get("submit", ""))
        if name in CONSUMING:
            phases = {
                phase: Target(target.name, "POST", target.path, target.host, {}, rows[name][phase])
                for phase in phases
            }
            monitor.start()
        else:
            status, body = probe(base_url, target)
            if status != 200:
                log(f"{name}: skipped, probe answered {status}: {body[:120]!r}")
                results[name] = {"label": LABELS[name], "skipped": f"probe status {status}"}
                continue
        log(f"{name}: warm-up {config.warmup:.0f} s")
        load.run(base_url, phases["warmup"], connections=config.connections, duration=config.warmup)
        closed = load.run(
            base_url, phases["closed"], connections=config.connections, duration=config.duration
        )
        log(_line(name, closed))
        rate = max(1.0, closed.rps * config.rate_fraction)
        paced = load.run(
            base_url,
            phases["rate"],
            connections=config.rate_connections,
            duration=config.rate_duration,
            rate=rate,
        )
        log(_line(name, paced))
        results[name] = {
            "label": LABELS[name],
            "closed": closed.as_dict(),
            "rate": paced.as_dict(),
        }
        if name in CONSUMING:
            results[name]["sealing"] = monitor.stop(started)
            log(f"{name}: sealing {results[name]['sealing']}")
    if "two_agencies" in wanted and "submit" in rows and state.get("drafts_b_file"):
        results["two_agencies"] = _two_agencies(config, load, base_url, state, rows, var)
    return results


def _two_agencies(
    config: BenchConfig,
    load: LoadGenerator,
    base_url: str,
    state: dict[str, Any],
    rows: dict[str, dict[str, str]],
    var: Path,
) -> dict[str, Any]:
    """Submit in two agencies at the same time, each with its own 32 connections."""
    import threading

    hosts = state["hosts"]
    path = "/api/v1/applications/{id}/submit/"
    first = Target("submit", "POST", path, hosts["submit"], {}, rows["submit"]["pair"])
    second = Target("submit", "POST", path, hosts["submit_b"], {}, state["drafts_b_file"])
    outcomes: dict[str, LoadResult] = {}

    def run(key: str, target: Target) -> None:
        outcomes[key] = load.run(
            base_url, target, connections=config.connections, duration=config.duration
        )

    threads = [
        threading.Thread(target=run, args=("a", first)),
        threading.Thread(target=run, args=("b", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = outcomes["a"].rps + outcomes["b"].rps
    log(f"two agencies: {outcomes['a'].rps:.0f} + {outcomes['b'].rps:.0f} = {total:.0f} req/s")
    return {
        "label": LABELS["two_agencies"],
        "a": outcomes["a"].as_dict(),
        "b": outcomes["b"].as_dict(),
        "total_rps": total,
    }


class _BacklogMonitor:
    """Samples the age of the oldest unsealed audit event of one schema while a write runs."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.database_url = database_url
        self.schema = schema
        self.samples: list[float] = []
        self._stop = False
        self._thread: Any = None

    def start(self) -> None:
        import threading

        if not self.database_url or not self.schema:
            return
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        query = (
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0) "  # noqa: S608
            f'FROM "{self.schema}".audit_auditevent WHERE sequence IS NULL'
        )
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop:
                row = conn.execute(query).fetchone()
                self.samples.append(float(row[0]) if row else 0.0)
                time.sleep(0.2)

    def stop(self, since: float) -> dict[str, Any]:
        """The backlog samples' maximum and the wait of every event written since ``since``."""
        import psycopg

        self._stop = True
        if self._thread is None:
            return {}
        self._thread.join(timeout=5)
        time.sleep(2.5)  # let the loop seal the last ones
        wait = "EXTRACT(EPOCH FROM sealed_at - occurred_at)"
        query = (
            "SELECT count(*), count(*) FILTER (WHERE sequence IS NULL), "  # noqa: S608
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {wait}), "
            f"percentile_cont(0.99) WITHIN GROUP (ORDER BY {wait}), max({wait}) "
            f'FROM "{self.schema}".audit_auditevent WHERE occurred_at >= to_timestamp(%s)'
        )
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(query, [since]).fetchone()
        count, unsealed, p50, p99, worst = row if row else (0, 0, None, None, None)
        return {
            "events": int(count or 0),
            "unsealed_after": int(unsealed or 0),
            "wait_p50_s": round(float(p50), 3) if p50 is not None else None,
            "wait_p99_s": round(float(p99), 3) if p99 is not None else None,
            "wait_max_s": round(float(worst), 3) if worst is not None else None,
            "backlog_max_s": round(max(self.samples), 3) if self.samples else None,
        }


def _line(name: str, result: LoadResult) -> str:
    shape = (
        f"{result.connections} conns closed loop"
        if result.mode == "closed"
        else f"{result.connections} conns at {result.target_rps}/s"
    )
    cpu = ""
    if result.server_cpu_ms is not None:
        cpu = (
            f"; CPU per request: server {result.server_cpu_ms:.2f} ms, database "
            f"{result.database_cpu_ms:.2f} ms, client {result.client_cpu_ms:.2f} ms"
        )
    return (
        f"{name}: {shape}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, errors {result.errors}{cpu}"
    )


def dump(results: dict[str, Any]) -> str:
    """JSON of the section (for logs)."""
    return json.dumps(results, indent=2)
