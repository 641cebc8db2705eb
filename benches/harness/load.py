"""Load generation: wrk when it can be had, a Python asyncio generator otherwise.

Two shapes, both over HTTP/1.1 keep-alive connections on loopback:

* closed loop: N connections, each sending its next request as soon as the previous answer
  arrived (throughput and latency percentiles at that concurrency);
* fixed rate: N connections sharing a schedule of request starts at R per second (latency at a
  load the server can sustain). wrk itself has no fixed-rate mode and wrk2 is not packaged in
  Debian, so ``lua/bench.lua`` paces wrk: each wrk thread owns R / threads of the rate and its
  ``delay()`` holds every request until the thread's next slot (slots missed while every
  connection was busy are sent at once, as an open-loop client would). Latency is measured by
  wrk from the moment a request is written, without wrk2's coordinated-omission correction;
  the achieved rate is reported next to the target, so a server that cannot keep up shows.

wrk is installed with ``apt-get install -y wrk`` when missing and the bench runs as root.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).resolve().parent / "lua" / "bench.lua"


@dataclass(frozen=True)
class Target:
    """One endpoint under load."""

    name: str
    method: str
    path: str
    host: str
    headers: dict[str, str] = field(default_factory=dict)
    ids_file: str = ""  # POST: "<id> <token> [etag]" lines, one request each ({id} in path)


@dataclass
class LoadResult:
    """What one load phase measured (latencies in milliseconds)."""

    mode: str  # "closed" or "rate"
    connections: int
    duration_s: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    target_rps: float | None = None
    generator: str = ""
    server_cpu_ms: float | None = None  # server CPU (gunicorn tree) per request
    database_cpu_ms: float | None = None  # bench database backends' CPU per request
    client_cpu_ms: float | None = None  # load generator CPU per request
    # wrk's error kinds: "read" is mostly a kept-alive connection the server closed after
    # GUNICORN_KEEPALIVE seconds idle (at low rates over 256 connections), not a failed request.
    error_kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_wrk(log: Any) -> str | None:
    """The wrk binary, installed from Debian when missing and allowed; None otherwise."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("wrk is not installed and cannot be installed here: Python load generator")
        return None
    log("installing wrk (apt-get install -y wrk)")
    result = subprocess.run(
        ["apt-get", "install", "-y", "wrk"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        log("apt-get install wrk failed: Python load generator\n" + result.stderr[-2000:])
        return None
    return shutil.which("wrk")


def run_wrk(
    wrk: str,
    base_url: str,
    target: Target,
    *,
    connections: int,
    threads: int,
    duration: float,
    rate: float | None = None,
) -> LoadResult:
    """One wrk phase; ``rate`` (requests per second) paces it, otherwise closed loop."""
    threads = max(1, min(threads, connections))
    env = dict(os.environ)
    env["BENCH_WRK_THREADS"] = str(threads)
    env["BENCH_WRK_NONCE"] = uuid.uuid4().hex[:12]
    env["BENCH_WRK_IDS"] = target.ids_file
    env["BENCH_WRK_PATH"] = target.path if "{id}" in target.path else ""
    env["BENCH_WRK_INTERVAL_MS"] = f"{threads * 1000.0 / rate:.4f}" if rate else "0"
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
        "--timeout", "10s", "-s", str(LUA_SCRIPT), "-H", f"Host: {target.host}",
    ]  # fmt: skip
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(base_url + target.path)
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    errors = data["errors"]
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return LoadResult(
        mode="rate" if rate else "closed",
        connections=connections,
        duration_s=round(seconds, 2),
        requests=data["requests"],
        errors=sum(errors.values()),
        error_kinds={kind: count for kind, count in errors.items() if count},
        rps=round(data["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=lat["p50"] / 1000,
        p75_ms=lat["p75"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p95_ms=lat["p95"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        target_rps=round(rate, 1) if rate else None,
        generator="wrk (Lua-paced)" if rate else "wrk",
    )


# --- Python fallback -------------------------------------------------------------------------


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _raw_request(target: Target, path: str, extra: dict[str, str], body: bytes) -> bytes:
    headers = {"Host": target.host, "Connection": "keep-alive", **target.headers, **extra}
    if body or target.method != "GET":
        headers["Content-Length"] = str(len(body))
    lines = [f"{target.method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _python_load(
    host: str, port: int, target: Target, connections: int, duration: float, rate: float | None
) -> tuple[list[float], int, float]:
    items: list[tuple[str, str, str]] = []
    if target.ids_file:
        for line in Path(target.ids_file).read_text().splitlines():
            pk, token, *rest = line.split()
            items.append((pk, token, rest[0] if rest else ""))
    latencies: list[float] = []
    errors = 0
    counter = 0
    nonce = uuid.uuid4().hex[:12]
    started = time.perf_counter()
    deadline = started + duration
    interval = 1.0 / rate if rate else 0.0
    next_slot = started

    def next_request() -> bytes:
        nonlocal counter
        counter += 1
        if not items:
            return _raw_request(target, target.path, {}, b"")
        pk, token, etag = items[(counter - 1) % len(items)]
        extra = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{nonce}-{counter}",
        }
        if etag:
            extra["If-Match"] = etag
        return _raw_request(target, target.path.replace("{id}", pk), extra, b"{}")

    async def connection_loop() -> None:
        nonlocal errors, next_slot
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                if interval:
                    slot = next_slot
                    next_slot += interval
                    wait = slot - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                if time.perf_counter() >= deadline:
                    return
                sent = time.perf_counter()
                writer.write(next_request())
                await writer.drain()
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - sent) * 1000)
                if status >= 400:
                    errors += 1
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection_loop() for _ in range(connections)))
    return latencies, errors, time.perf_counter() - started


def run_python(
    base_url: str, target: Target, *, connections: int, duration: float, rate: float | None = None
) -> LoadResult:
    """The same phase with the Python asyncio generator (slower than wrk: it shares the CPU)."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    latencies, errors, seconds = asyncio.run(
        _python_load(host, int(port), target, connections, duration, rate)
    )
    latencies.sort()
    return LoadResult(
        mode="rate" if rate else "closed",
        connections=connections,
        duration_s=round(seconds, 2),
        requests=len(latencies),
        errors=errors,
        rps=round(len(latencies) / seconds, 1) if seconds else 0.0,
        p50_ms=round(_percentile(latencies, 0.50), 3),
        p75_ms=round(_percentile(latencies, 0.75), 3),
        p90_ms=round(_percentile(latencies, 0.90), 3),
        p95_ms=round(_percentile(latencies, 0.95), 3),
        p99_ms=round(_percentile(latencies, 0.99), 3),
        max_ms=round(latencies[-1], 3) if latencies else 0.0,
        target_rps=round(rate, 1) if rate else None,
        generator="python asyncio (paced)" if rate else "python asyncio",
    )


class LoadGenerator:
    """wrk or the Python generator, chosen once per run."""

    def __init__(self, choice: str, threads: int, log: Any, meter: Any = None) -> None:
        self.threads = threads
        self.meter = meter
        self.wrk: str | None = None
        if choice in ("auto", "wrk"):
            self.wrk = ensure_wrk(log)
            if self.wrk is None and choice == "wrk":
                raise SystemExit("BENCH_LOADGEN=wrk but wrk is not available")
        self.name = "wrk" if self.wrk else "python"
        self.version = _wrk_version(self.wrk) if self.wrk else "python asyncio"

    def run(
        self,
        base_url: str,
        target: Target,
        *,
        connections: int,
        duration: float,
        rate: float | None = None,
    ) -> LoadResult:
        """One phase against ``target``, with the CPU each side spent per request."""
        before = self.meter.sample() if self.meter else None
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        if self.wrk:
            result = run_wrk(
                self.wrk,
                base_url,
                target,
                connections=connections,
                threads=self.threads,
                duration=duration,
                rate=rate,
            )
        else:
            result = run_python(
                base_url, target, connections=connections, duration=duration, rate=rate
            )
        if result.requests:
            if before is not None:
                after = self.meter.sample()
                result.server_cpu_ms = round((after[0] - before[0]) * 1000 / result.requests, 3)
                database = self.meter.database_delta(before[1], after[1])
                result.database_cpu_ms = round(database * 1000 / result.requests, 3)
            usage = resource.getrusage(
                resource.RUSAGE_CHILDREN if self.wrk else resource.RUSAGE_SELF
            )
            start = client_before if self.wrk else self_before
            spent = usage.ru_utime + usage.ru_stime - start.ru_utime - start.ru_stime
            result.client_cpu_ms = round(spent * 1000 / result.requests, 3)
        return result


def _wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).splitlines()
    return first[0].strip() if first else "wrk"
