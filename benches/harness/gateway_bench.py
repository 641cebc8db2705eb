"""The ``gateway`` section of ``make bench``: the real-time gateway under connections and events.

A real uvicorn process serves ``config.asgi`` with the bench's production settings (embedded
PostgreSQL NOTIFY channel layer unless ``BENCH_GATEWAY_LAYER_URL`` names a Redis); this process
is the client (asyncio, the ``websockets`` library, one loop), events are produced by
``benches.harness.gateway_producer`` (real outbox path, one process). Phases:

1. ``hold``: ``BENCH_GATEWAY_CONNECTIONS`` citizens' connections (10 per person, all from
   127.0.0.1, so the per-source limit is raised for the bench) authenticate, subscribe and
   stay open ``BENCH_GATEWAY_HOLD`` seconds; the gateway's RSS before/after gives the memory
   per connection;
2. ``latency``: ``BENCH_GATEWAY_RATE`` events/s for ``BENCH_GATEWAY_RATE_DURATION`` s,
   committed by ``BENCH_GATEWAY_PRODUCERS`` processes side by side (as web workers do), each
   fanned out to ``BENCH_GATEWAY_FANOUT`` agents following the queue and to the ten
   connections of its citizen; commit-to-client latency p50/p95 (goal p95 < 100 ms);
3. ``storm``: while events keep coming (``BENCH_GATEWAY_STORM_RATE``/s), every connection is
   closed at once and reopened at once, resuming from its last id; afterwards each
   connection's ids are compared with the log: events lost must be 0.

The machine's load average is recorded with the figures (other work shares the cores).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benches.harness import stack
from benches.harness.stack import log


@dataclass
class Client:
    """One WebSocket connection of the bench."""

    token: str
    host: str
    stream: str
    citizen_id: str = ""
    ws: Any = None
    reader: asyncio.Task[None] | None = None
    last_id: int = 0
    received: set[int] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    record: bool = False
    errors: int = 0


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _open(client: Client, url: str, since: int | None) -> bool:
    import websockets

    try:
        target = url
        if client.host:  # an agency host: its name in the URL (Host header), loopback below
            target = url.replace("127.0.0.1", client.host, 1)
        client.ws = await websockets.connect(
            target,
            host="127.0.0.1",
            port=int(url.rsplit(":", 1)[1].split("/", 1)[0]),
            subprotocols=["guichet.v1"],
            open_timeout=60,
            ping_interval=None,
            max_queue=None,
        )
        await client.ws.send(json.dumps({"type": "auth", "token": client.token}))
        ready = json.loads(await asyncio.wait_for(client.ws.recv(), 60))
        if ready.get("type") != "ready":
            client.errors += 1
            return False
        frame: dict[str, Any] = {"type": "subscribe", "stream": client.stream}
        if since is not None:
            frame["since"] = since
        await client.ws.send(json.dumps(frame))
        subscribed = json.loads(await asyncio.wait_for(client.ws.recv(), 60))
        if since is None:
            client.last_id = int(subscribed.get("last_id", 0))
        client.reader = asyncio.get_running_loop().create_task(_read(client))
        return True
    except Exception:
        client.errors += 1
        return False


async def _read(client: Client) -> None:
    try:
        async for raw in client.ws:
            frame = json.loads(raw)
            if frame.get("type") != "event":
                continue
            event_id = int(frame["id"])
            if event_id <= client.last_id:
                continue  # at least once: a duplicate
            client.last_id = event_id
            client.received.add(event_id)
            if client.record:
                occurred = datetime.fromisoformat(frame["data"]["occurred_at"]).timestamp()
                client.latencies.append(time.time() - occurred)
    except Exception:
        return


async def _close(client: Client) -> None:
    if client.ws is not None:
        with contextlib.suppress(Exception):  # already closed by the server
            await client.ws.close()
    if client.reader is not None:
        client.reader.cancel()


async def _open_retrying(client: Client, url: str, *, resume: bool, attempts: int = 8) -> bool:
    """Like a real client (guichet-realtime.js): on failure (a refused handshake, 4429 while the
    server has not yet seen the old connection go, 1013) back off with jitter and try again."""
    import random

    for attempt in range(attempts):
        if await _open(client, url, client.last_id if resume else None):
            return True
        await _close(client)
        base = min(10.0, 0.5 * 2**attempt)
        await asyncio.sleep(base / 2 + random.random() * base)
    return False


async def _open_all(clients: list[Client], url: str, *, resume: bool, batch: int) -> int:
    opened = 0
    for start in range(0, len(clients), batch):
        chunk = clients[start : start + batch]
        results = await asyncio.gather(*(_open_retrying(c, url, resume=resume) for c in chunk))
        opened += sum(results)
    return opened


def _rss(pid: int) -> int:
    import psutil

    process = psutil.Process(pid)
    return int(process.memory_info().rss + sum(c.memory_info().rss for c in process.children()))


def _producers(
    config: Any,
    env: dict[str, str],
    var: Path,
    schema: str,
    rate: float,
    duration: float,
    citizens_file: Path,
) -> list[Any]:
    """``BENCH_GATEWAY_PRODUCERS`` processes sharing ``rate``, as web workers would commit."""
    count = max(1, int(config.gateway_producers))
    return [
        _producer(env, var, schema, rate / count, duration, citizens_file) for _ in range(count)
    ]


async def _finish_all(processes: list[Any]) -> dict[str, Any]:
    while any(process.poll() is None for process in processes):
        await asyncio.sleep(0.2)
    outcomes = [_finish(process) for process in processes]
    return {
        "produced": sum(o["produced"] for o in outcomes),
        "seconds": max(o["seconds"] for o in outcomes),
    }


def _producer(
    env: dict[str, str], var: Path, schema: str, rate: float, duration: float, citizens_file: Path
) -> Any:
    import subprocess

    # Its log goes to a file: a pipe nobody reads until the end would fill up and block it.
    errors = (var / "logs" / "gateway-producer.log").open("a")
    return subprocess.Popen(
        [stack.PYTHON, "-m", "benches.harness.gateway_producer", "--schema", schema,
         "--rate", str(rate), "--duration", str(duration), "--citizens", str(citizens_file)],
        cwd=stack.ROOT, env={**env, "LOG_LEVEL": "WARNING"}, stdout=subprocess.PIPE,
        stderr=errors, text=True,
    )  # fmt: skip


def _finish(process: Any) -> dict[str, Any]:
    out, _ = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError("gateway producer failed: see logs/gateway-producer.log")
    return dict(json.loads(out.strip().splitlines()[-1]))


def _log_ids_after(database_url: str, after: int) -> dict[str, set[int]]:
    """Citizen id -> event ids (to the citizen) in the log after ``after``."""
    import psycopg

    by_citizen: dict[str, set[int]] = {}
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id, citizen_id FROM public.realtime_realtimeevent WHERE id > %s AND to_citizen",
            [after],
        ).fetchall()
    for event_id, citizen_id in rows:
        by_citizen.setdefault(str(citizen_id), set()).add(int(event_id))
    return by_citizen


def run_gateway(
    config: Any, env: dict[str, str], quiet: dict[str, str], var: Path
) -> dict[str, Any]:
    """Run the three phases; the section's results."""
    connections = int(config.gateway_connections)
    per_person = 10
    citizens = max(1, (connections + per_person - 1) // per_person)
    log(f"gateway: seeding {citizens} citizens and {config.gateway_fanout} agents")
    out = stack.run_module(
        quiet, "benches.harness.gateway_seed",
        "--citizens", str(citizens), "--staff", str(config.gateway_fanout),
    )  # fmt: skip
    seed = json.loads(out.stdout.strip().splitlines()[-1])
    citizens_file = var / "gateway-citizens.json"
    citizens_file.write_text(json.dumps([c["id"] for c in seed["citizens"]]))

    port = stack.free_port()
    gateway_env = dict(env)
    gateway_env.update(
        {
            "LOG_LEVEL": "WARNING",
            # Every bench client comes from 127.0.0.1.
            "REALTIME_MAX_CONNECTIONS_PER_SOURCE": str(connections * 2 + 100),
            "REALTIME_MAX_CONNECTIONS_PER_USER": str(per_person),
            "REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE": "1000",
            "REALTIME_SEND_BUFFER": "10000",
        }
    )
    layer_url = os.environ.get("BENCH_GATEWAY_LAYER_URL", "").strip()
    if layer_url:
        gateway_env["REALTIME_CHANNEL_LAYER_URL"] = layer_url
        env = {**env, "REALTIME_CHANNEL_LAYER_URL": layer_url}
    else:
        gateway_env.pop("REALTIME_CHANNEL_LAYER_URL", None)
        env = {k: v for k, v in env.items() if k != "REALTIME_CHANNEL_LAYER_URL"}
    command = [
        stack.PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--ws", "websockets", "--lifespan", "off", "--no-access-log",
        "--log-level", "warning", "--backlog", "4096",
    ]  # fmt: skip
    child = stack.start_child("gateway", command, gateway_env, var)
    deadline = time.monotonic() + 90
    while stack.http_status(f"http://127.0.0.1:{port}/healthz", "localhost") != 200:
        if child.process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"the gateway did not start; see {child.log_path}")
        time.sleep(0.2)
    url = f"ws://127.0.0.1:{port}/ws/v1/"
    results: dict[str, Any] = {
        "connections": connections,
        "layer": "redis" if layer_url else "postgresql-notify",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with stack.running(child):
        results.update(
            asyncio.run(
                _phases(config, seed, url, child.process.pid, env, var, citizens_file, results)
            )
        )
    return results


async def _phases(
    config: Any,
    seed: dict[str, Any],
    url: str,
    pid: int,
    env: dict[str, str],
    var: Path,
    citizens_file: Path,
    results: dict[str, Any],
) -> dict[str, Any]:
    connections = int(config.gateway_connections)
    people = seed["citizens"]
    # Warm-up: one connection starts the hub (its cursor, its LISTEN) before the baseline.
    warm = Client(token=people[0]["token"], host="", stream="applications")
    await _open(warm, url, None)
    await _close(warm)
    await asyncio.sleep(1)
    rss_before = _rss(pid)
    clients = [
        Client(token=people[i // 10]["token"], host="", stream="applications",
               citizen_id=people[i // 10]["id"])
        for i in range(connections)
    ]  # fmt: skip
    log(f"gateway: opening {connections} connections")
    started = time.monotonic()
    opened = await _open_all(clients, url, resume=False, batch=100)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(2)
    rss_after = _rss(pid)
    log(f"gateway: {opened} open in {open_seconds:.1f} s; holding {config.gateway_hold:.0f} s")
    await asyncio.sleep(config.gateway_hold)
    still_open = sum(1 for c in clients if c.ws is not None and c.ws.state.name == "OPEN")
    hold = {
        "opened": opened,
        "open_seconds": round(open_seconds, 1),
        "held_seconds": config.gateway_hold,
        "still_open": still_open,
        "rss_before_mib": round(rss_before / 2**20, 1),
        "rss_after_mib": round(rss_after / 2**20, 1),
        "kib_per_connection": round((rss_after - rss_before) / max(1, opened) / 1024, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }

    # Latency: agents follow the queue (every event), citizens their own applications.
    agents = [Client(token=t, host=seed["host"], stream="queue") for t in seed["staff"]]
    await _open_all(agents, url, resume=False, batch=50)
    for client in [*agents, *clients]:
        client.record = True
    log(f"gateway: {config.gateway_rate:.0f} events/s for {config.gateway_rate_duration:.0f} s")
    producers = _producers(config, env, var, seed["schema"], config.gateway_rate,
                           config.gateway_rate_duration, citizens_file)  # fmt: skip
    produced = await _finish_all(producers)
    await asyncio.sleep(2)
    for client in [*agents, *clients]:
        client.record = False
    agent_latencies = [x for c in agents for x in c.latencies]
    citizen_latencies = [x for c in clients for x in c.latencies]
    everything = agent_latencies + citizen_latencies
    latency = {
        "rate": config.gateway_rate,
        "producers": int(config.gateway_producers),
        "seconds": produced["seconds"],
        "produced": produced["produced"],
        "achieved_rate": round(produced["produced"] / max(0.001, produced["seconds"]), 1),
        "fanout_agents": len(agents),
        "deliveries": len(everything),
        "p50_ms": round(_percentile(everything, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(everything, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(everything, 0.99) * 1000, 1),
        "agents_p95_ms": round(_percentile(agent_latencies, 0.95) * 1000, 1),
        "citizens_p95_ms": round(_percentile(citizen_latencies, 0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(everything) * 1000, 1) if everything else 0.0,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for client in agents:
        await _close(client)

    # Storm: every connection drops at once while events keep coming, then all come back.
    base = min(c.last_id for c in clients)
    for client in clients:
        client.received.clear()
        client.errors = 0
    starts = {id(c): c.last_id for c in clients}
    log(f"gateway: reconnect storm of {len(clients)} connections")
    producers = _producers(config, env, var, seed["schema"], config.gateway_storm_rate,
                           config.gateway_storm_duration, citizens_file)  # fmt: skip
    await asyncio.sleep(min(2.0, config.gateway_storm_duration / 3))
    await asyncio.gather(*(_close(c) for c in clients))
    await asyncio.sleep(0.5)
    storm_started = time.monotonic()
    reopened = await _open_all(clients, url, resume=True, batch=len(clients))
    storm_seconds = time.monotonic() - storm_started
    storm_produced = await _finish_all(producers)
    await asyncio.sleep(3)
    expected = await asyncio.to_thread(_log_ids_after, stack.bench_database_url(), base)
    lost = 0
    for client in clients:
        wanted = {i for i in expected.get(client.citizen_id, set()) if i > starts[id(client)]}
        lost += len(wanted - client.received)
    storm = {
        "connections": len(clients),
        "reopened": reopened,
        "reconnect_seconds": round(storm_seconds, 1),
        "events_during_storm": storm_produced["produced"],
        "deliveries_expected": sum(
            len({i for i in expected.get(c.citizen_id, set()) if i > starts[id(c)]})
            for c in clients
        ),
        "events_lost": lost,
        "failed_attempts": sum(c.errors for c in clients),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    await asyncio.gather(*(_close(c) for c in clients))
    return {"hold": hold, "latency": latency, "storm": storm}
