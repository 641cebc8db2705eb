"""Hot-key store benchmark: LMDB (through LMDBStore) next to Redis on loopback, same run.

Run: ``.venv/bin/python benches/bench_hotkeys.py`` (about 30 s; ``--quick`` for ~15 s).

Equivalent operations, one client, one connection, no pipelining:

============  ==========================================  =====================================
operation     LMDB (apps.hotkeys, default options)        Redis (redis-py)
============  ==========================================  =====================================
get           ``store.get(key)``                          ``GET key``
set           ``store.set(key, 64 B, ttl=60)``            ``SET key 64B PX 60000``
add           ``store.add(key, 1, ttl=60)``               ``INCRBY key 1``
range 100     ``store.range(prefix, limit=100)``          one round trip: a Lua script doing
                                                          ``ZRANGE idx [p (p\\xff BYLEX LIMIT 0
                                                          100`` then ``MGET`` of those keys
============  ==========================================  =====================================

Redis has no ordered prefix scan over its keyspace, so an ordered 100-key read with values
needs a sorted-set index plus the values: done server-side in one round trip (the fairest
form for Redis); the two-round-trip form (``ZRANGE`` then ``MGET`` from the client) is
measured too and reported. Throughput comes from an untimed loop; p50/p99 latency from a
separate loop timing each operation with ``perf_counter_ns`` (up to 20,000 samples or as
long as the throughput loop ran; the timer's ~0.1 µs is included, which only penalises LMDB).

Results: a Markdown table on stdout and ``benches/results/hotkeys.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lmdb  # noqa: E402
import redis  # noqa: E402

from apps.hotkeys.backends.lmdb import LMDBStore  # noqa: E402
from apps.hotkeys.keys import hot_key, hot_prefix  # noqa: E402

RESULTS = ROOT / "benches" / "results" / "hotkeys.json"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_PREFIX = b"bench:hotkeys:"
KEYS = 10_000
VALUE = b"v" * 64
RANGE_SIZE = 100
GOALS = {"get": 20.0, "set": 5.0}

RANGE_SCRIPT = """
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[3])
if #members == 0 then return {} end
local values = redis.call('MGET', unpack(members))
local out = {}
for i, m in ipairs(members) do out[2 * i - 1] = m; out[2 * i] = values[i] end
return out
"""

Op = Callable[[int], object]


def throughput(op: Op, seconds: float) -> float:
    """Operations per second over ``seconds``, in untimed chunks of 200 calls."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for i in range(done, done + 200):
            op(i)
        done += 200
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def latencies(op: Op, samples: int, max_seconds: float) -> dict[str, float]:
    """p50 / p99 / mean of up to ``samples`` individually timed calls, in microseconds."""
    timer = time.perf_counter_ns
    deadline = timer() + int(max_seconds * 1e9)
    recorded: list[int] = []
    for i in range(samples):
        began = timer()
        op(i)
        ended = timer()
        recorded.append(ended - began)
        if ended > deadline and len(recorded) >= 1000:
            break
    recorded.sort()
    count = len(recorded)
    return {
        "p50_us": recorded[count // 2] / 1000,
        "p99_us": recorded[int(count * 0.99)] / 1000,
        "mean_us": statistics.fmean(recorded) / 1000,
        "latency_samples": count,
    }


def measure(op: Op, seconds: float, samples: int) -> dict[str, float]:
    """Warm up, then throughput for ``seconds`` and latency for at most as long again."""
    for i in range(500):  # warm up caches, connection, code paths
        op(i)
    result = {"ops_per_s": throughput(op, seconds)}
    result.update(latencies(op, samples, seconds))
    return result


def lmdb_ops(store: LMDBStore, keys: list[bytes]) -> dict[str, Op]:
    counters = [hot_key("agency_a", "bench-counter", i) for i in range(1000)]
    range_prefix = hot_prefix("agency_a", "bench-range")
    n = len(keys)
    return {
        "get": lambda i: store.get(keys[i % n]),
        "set": lambda i: store.set(keys[i % n], VALUE, ttl=60),
        "add": lambda i: store.add(counters[i % 1000], 1, ttl=60),
        "range100": lambda i: store.range(range_prefix, limit=RANGE_SIZE),
    }


def redis_ops(client: redis.Redis, keys: list[bytes]) -> dict[str, Op]:
    rkeys = [REDIS_PREFIX + key for key in keys]
    counters = [REDIS_PREFIX + hot_key("agency_a", "bench-counter", i) for i in range(1000)]
    index = REDIS_PREFIX + b"range-index"
    prefix = REDIS_PREFIX + hot_prefix("agency_a", "bench-range")
    low, high = b"[" + prefix, b"(" + prefix + b"\xff"
    script = client.register_script(RANGE_SCRIPT)
    n = len(rkeys)

    def range_two_round_trips(i: int) -> object:
        members = client.zrange(index, low, high, bylex=True, offset=0, num=RANGE_SIZE)
        return list(zip(members, client.mget(members), strict=True))

    return {
        "get": lambda i: client.get(rkeys[i % n]),
        "set": lambda i: client.set(rkeys[i % n], VALUE, px=60_000),
        "add": lambda i: client.incrby(counters[i % 1000], 1),
        "range100": lambda i: script(keys=[index], args=[low, high, RANGE_SIZE]),
        "range100_two_round_trips": range_two_round_trips,
    }


def seed_lmdb(store: LMDBStore, keys: list[bytes]) -> None:
    def load(tx: Any) -> None:
        for key in keys:
            tx.set(key, VALUE, 3600)
        for i in range(RANGE_SIZE * 2):
            tx.set(hot_key("agency_a", "bench-range", i), VALUE)

    store.transaction(load)


def seed_redis(client: redis.Redis, keys: list[bytes]) -> None:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.set(REDIS_PREFIX + key, VALUE, px=3_600_000)
    index = REDIS_PREFIX + b"range-index"
    for i in range(RANGE_SIZE * 2):
        member = REDIS_PREFIX + hot_key("agency_a", "bench-range", i)
        pipe.set(member, VALUE)
        pipe.zadd(index, {member: 0})
    pipe.execute()


def clean_redis(client: redis.Redis) -> None:
    """Delete only this benchmark's keys (the Redis may be shared)."""
    batch = []
    for key in client.scan_iter(match=REDIS_PREFIX + b"*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def connect_redis() -> redis.Redis | None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        print(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}): LMDB only.")
        return None
    return client


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter run (~15 s)")
    args = parser.parse_args()
    seconds, samples = (0.4, 5_000) if args.quick else (1.5, 20_000)
    started = time.perf_counter()

    keys = [hot_key("agency_a", "bench", f"user-{i}") for i in range(KEYS)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-hotkeys-"))
    results: dict[str, dict[str, Any]] = {"lmdb": {}, "redis": {}}
    try:
        store = LMDBStore(workdir / "default")
        seed_lmdb(store, keys)
        for name, op in lmdb_ops(store, keys).items():
            results["lmdb"][name] = measure(op, seconds, samples)
        store.close()

        durable = LMDBStore(workdir / "durable", sync=True)
        seed_lmdb(durable, keys[:100])
        results["lmdb"]["set_sync"] = measure(
            lambda i: durable.set(keys[i % 100], VALUE, ttl=60), seconds / 2, samples // 20
        )
        durable.close()

        client = connect_redis()
        redis_version = None
        if client is not None:
            redis_version = client.info("server").get("redis_version")
            clean_redis(client)
            seed_redis(client, keys)
            try:
                for name, op in redis_ops(client, keys).items():
                    results["redis"][name] = measure(op, seconds, samples)
            finally:
                clean_redis(client)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ratios: dict[str, float | None] = {}
    for name in ("get", "set", "add", "range100"):
        other = results["redis"].get(name)
        if name == "range100" and other is not None:
            other = max(
                (results["redis"]["range100"], results["redis"]["range100_two_round_trips"]),
                key=lambda r: r["ops_per_s"],
            )
        ratios[name] = results["lmdb"][name]["ops_per_s"] / other["ops_per_s"] if other else None

    lines = [
        "| operation | LMDB ops/s | LMDB p50 µs | LMDB p99 µs "
        "| Redis ops/s | Redis p50 µs | Redis p99 µs | LMDB / Redis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("get", "get"),
        ("set (ttl)", "set"),
        ("atomic add", "add"),
        ("range 100 keys", "range100"),
        ("range 100, Redis 2 round trips", "range100_two_round_trips"),
        ("set, LMDB sync=True", "set_sync"),
    ]
    for label, name in rows:
        mine = results["lmdb"].get(name, {})
        theirs = results["redis"].get(name, {})
        ratio = ratios.get(name)
        lines.append(
            f"| {label} | {fmt(mine.get('ops_per_s'), 0)} | {fmt(mine.get('p50_us'))} "
            f"| {fmt(mine.get('p99_us'))} | {fmt(theirs.get('ops_per_s'), 0)} "
            f"| {fmt(theirs.get('p50_us'))} | {fmt(theirs.get('p99_us'))} "
            f"| {fmt(ratio) + '×' if ratio else '–'} |"
        )
    print("\n".join(lines))
    print()
    goals = {}
    for name, goal in GOALS.items():
        ratio = ratios.get(name)
        goals[name] = {"goal": goal, "ratio": ratio, "met": ratio is not None and ratio >= goal}
        verdict = "no Redis" if ratio is None else ("met" if ratio >= goal else "NOT met")
        print(f"goal {name}: LMDB >= {goal:g}x Redis -> {verdict} ({fmt(ratio)}x)")

    elapsed = time.perf_counter() - started
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "elapsed_s": round(elapsed, 1),
                "machine": {
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "lmdb": ".".join(map(str, lmdb.version())),
                    "py_lmdb": lmdb.__version__,
                    "redis_server": redis_version,
                    "redis_url": REDIS_URL.rsplit("@", 1)[-1],
                },
                "parameters": {
                    "keys": KEYS,
                    "value_bytes": len(VALUE),
                    "range_size": RANGE_SIZE,
                    "throughput_seconds": seconds,
                    "latency_samples": samples,
                },
                "results": results,
                "ratios_ops_per_s": ratios,
                "goals": goals,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
