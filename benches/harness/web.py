"""The HTTP section: the floor and four API endpoints under gunicorn, closed loop then fixed rate.

For each endpoint: a warm-up (untimed), ``connections`` connections closed loop for
``duration`` seconds (throughput, p50/p95/p99), then ``rate_connections`` connections at
``rate_fraction`` of the throughput just measured for ``rate_duration`` seconds (latency at a
sustainable load). The submit endpoint consumes one prepared draft per request; each phase gets
its own slice of the drafts so no phase replays another's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benches.harness.config import BenchConfig
from benches.harness.load import LoadGenerator, LoadResult, Target
from benches.harness.stack import log

ENDPOINTS = ("floor", "services", "me", "staff", "submit")
LABELS = {
    "floor": "floor: bare Django JSON view",
    "services": "GET /api/v1/services/ (anonymous)",
    "me": "GET /api/v1/me/applications/ (citizen)",
    "staff": "GET /api/v1/staff/applications/?status=submitted (agent, 50/page)",
    "submit": "POST /api/v1/applications/{id}/submit/ (Idempotency-Key)",
}


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
    config: BenchConfig, load: LoadGenerator, base_url: str, state: dict[str, Any], var: Path
) -> dict[str, Any]:
    """Measure every endpoint; returns ``{endpoint: {"closed": ..., "rate": ...}}``."""
    wanted = config.endpoints or ENDPOINTS
    results: dict[str, Any] = {}
    drafts = split_drafts(state["drafts_file"], var, {"warmup": 0.08, "closed": 0.52, "rate": 0.40})
    for name, target in targets(state).items():
        if name not in wanted:
            continue
        phases = {"warmup": target, "closed": target, "rate": target}
        if name == "submit":
            phases = {
                phase: Target(target.name, "POST", target.path, target.host, {}, drafts[phase])
                for phase in phases
            }
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
    return results


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
