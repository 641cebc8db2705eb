"""``make bench``: the platform benchmarks against a real stack on loopback.

Runs under ``scripts/services.py exec`` (the Makefile does it), so PostgreSQL is
``DATABASE_URL`` or the embedded server. Steps:

1. the bench database (its own, see ``benches/harness/stack.py``) is migrated with
   ``migrate_agencies`` and seeded (``benches/harness/seed.py``, idempotent);
2. ``http``: gunicorn with production settings; the floor and four endpoints under wrk
   (``benches/harness/web.py``);
3. ``tenancy``: agency creation next to a one-schema migrate, ``migrate_agencies`` over
   ``BENCH_AGENCIES`` agencies with nothing pending and with one additive migration
   (``benches/harness/tenancy.py``);
4. ``celery``: a real worker; no-op jobs and notification jobs per second, end to end
   (``benches/harness/celery_bench.py``);
5. ``storage``: a 2 MiB document uploaded and downloaded through the API on the filesystem and
   on S3 (moto's server on loopback), side by side (``benches/harness/storage_bench.py``);
   run alone (``BENCH_ONLY=storage``) it needs none of the other sections' seed;
6. ``payments``: payment initiation p95 at 70 % of the maximum rate and authenticated
   callbacks per second, against the aggregator simulator (``benches/harness/payments_bench.py``);
6. ``gateway``: the real-time gateway (uvicorn): 2,000 WebSocket connections held, memory
   per connection, commit-to-client latency at 100 events/s fanned out, a reconnect storm
   with the events lost counted (``benches/harness/gateway_bench.py``); run alone
   (``BENCH_ONLY=gateway``) it needs none of the other sections' seed;
7. ``benches/results/latest.json`` and ``latest.md`` (also printed), with each target's verdict.

Knobs: ``BENCH_*`` environment variables and flags (``--help``; ``benches/harness/config.py``).
``--quick`` is for development only. The whole run takes about 10 minutes on 2 cores (the first
run also creates the filler agencies: a few minutes more).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.harness import report, stack  # noqa: E402
from benches.harness.config import BenchConfig, parse_args  # noqa: E402
from benches.harness.load import LoadGenerator  # noqa: E402
from benches.harness.stack import log  # noqa: E402


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def server_settings(env: dict[str, str], workers: int) -> dict[str, Any]:
    """The gunicorn and Django settings the HTTP figures were measured under."""
    import subprocess

    run_env = dict(env)
    if workers:
        run_env["GUNICORN_WORKERS"] = str(workers)
    code = (
        "import json, runpy, django; c = runpy.run_path('config/gunicorn.conf.py'); "
        "django.setup(); from django.conf import settings as s; "
        "d = s.DATABASES['default']; print(json.dumps({"
        "**{k: c.get(k) for k in ('workers', 'worker_class', 'threads', 'keepalive', "
        "'max_requests', 'preload_app', 'worker_connections')}, "
        "'database_pool': d['OPTIONS'].get('pool'), 'conn_max_age': d['CONN_MAX_AGE'], "
        "'conn_health_checks': d['CONN_HEALTH_CHECKS'], "
        "'stateless_users': getattr(s, 'AUTH_STATELESS_USERS', None)}))"
    )
    out = subprocess.run(
        [stack.PYTHON, "-c", code], cwd=ROOT, env=run_env, capture_output=True, text=True
    )
    try:
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return {"error": out.stderr[-500:]}


def main(config: BenchConfig) -> int:
    started = time.monotonic()
    var = stack.var_dir()
    database_url = stack.bench_database_url()
    database_name = urlsplit(database_url).path.lstrip("/")
    if config.reset_db:
        log("dropping the bench database (--reset-db)")
        stack.drop_database(database_url)
    if stack.ensure_database(database_url):
        log(f"created the bench database {database_name}")
    broker = stack.start_broker(var)
    log(f"broker: {broker.kind}")
    env = stack.child_environment(database_url=database_url, broker=broker, var=var)
    quiet = {**env, "LOG_LEVEL": "WARNING"}
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": config.label,
        "quick": config.quick,
        "config": {k: v for k, v in config.__dict__.items() if k != "results_dir"},
        "machine": machine(),
        "postgres": stack.postgres_version(database_url),
        "broker": broker.kind,
    }
    try:
        step = time.monotonic()
        log("migrating the bench database (migrate_agencies)")
        stack.manage(quiet, "migrate_agencies")
        stack.manage(quiet, "keys_rotate", "--kind", "jwt", "--if-missing")  # as compose does
        stack.manage(quiet, "keys_rotate", "--kind", "ca", "--if-missing")
        stack.manage(quiet, "keys_rotate", "--kind", "audit", "--if-missing")
        state_path = var / "state.json"
        state: dict[str, Any] = {}
        if set(config.sections) - {"storage", "payments", "gateway"}:
            log("seeding (idempotent; the first run creates the filler agencies)")
            stack.run_module(
                quiet,
                "benches.harness.seed",
                "--out", str(state_path),
                "--applications", str(config.applications),
                "--drafts", str(config.submit_drafts),
                "--agencies", str(config.agencies),
                "--approvals", str(config.submit_drafts // 2),
            )  # fmt: skip
            state = json.loads(state_path.read_text())
            results["setup"] = {
                "seconds": round(time.monotonic() - step, 1),
                "counts": state["counts"],
                "inserted": state["inserted"],
            }
        if "http" in config.sections:
            from benches.harness.web import run_http

            web, port = stack.start_gunicorn(env, var, workers=config.gunicorn_workers)
            # The audit sealing loop beside the server, as a deployment runs it.
            import subprocess

            sealer = subprocess.Popen(
                [stack.PYTHON, "manage.py", "audit_seal", "--loop", "--interval", "0.2"],
                cwd=ROOT,
                env=quiet,
                stdout=subprocess.DEVNULL,
            )
            meter = stack.CpuMeter(web.process.pid, database_name)
            load = LoadGenerator(config.loadgen, config.threads, log, meter)
            results["load_generator"] = load.version
            results["server"] = server_settings(env, config.gunicorn_workers)
            try:
                with stack.running(web):
                    results["http"] = run_http(
                        config, load, f"http://127.0.0.1:{port}", state, var, database_url
                    )
            finally:
                sealer.terminate()
                sealer.wait(timeout=30)
            log("measuring SQL round trips per request (in-process)")
            out = stack.run_module(quiet, "benches.harness.roundtrips", "--state", str(state_path))
            results["round_trips"] = json.loads(out.stdout)
        if "tenancy" in config.sections:
            out = stack.run_module(
                quiet,
                "benches.harness.tenancy",
                "--agencies", str(config.agencies),
                "--samples", str(config.creation_samples),
            )  # fmt: skip
            results["tenancy"] = json.loads(out.stdout)
        if "celery" in config.sections:
            from benches.harness.celery_bench import run_celery

            results["celery"] = run_celery(config, env, quiet, var, broker)
        if "storage" in config.sections:
            from benches.harness.storage_bench import run_storage

            results["storage"] = run_storage(config, env, quiet, var)
        if "payments" in config.sections:
            from benches.harness.payments_bench import run_payments

            results["payments"] = run_payments(config, env, quiet, var)
        if "gateway" in config.sections:
            from benches.harness.gateway_bench import run_gateway

            results["gateway"] = run_gateway(config, env, quiet, var)
    finally:
        broker.stop()
        results["seconds"] = round(time.monotonic() - started, 1)
    markdown = report.write(results, config.results_dir)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args()))
