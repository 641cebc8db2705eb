"""The Celery section: a real worker process, jobs per second end to end.

The bench queue is purged first (only the bench's own queue on the bench's broker: the HTTP
section's submissions queued notification deliveries there), then a prefork worker with one
process per CPU is started and ``benches.harness.celery_load`` produces and waits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benches.harness import stack
from benches.harness.config import BenchConfig
from benches.harness.stack import Broker, log


def run_celery(
    config: BenchConfig, env: dict[str, str], quiet: dict[str, str], var: Path, broker: Broker
) -> dict[str, Any]:
    """Purge the bench queue, start a worker, measure, stop the worker."""
    queue = env.get("BENCH_CELERY_QUEUE", "guichet-bench")
    result = stack.run_command(
        quiet, [stack.PYTHON, "-m", "celery", "-A", "config", "purge", "-f", "-Q", queue]
    )
    log(f"purged the bench queue: {result.strip() or 'nothing'}")
    concurrency = len(os.sched_getaffinity(0))
    worker = stack.start_celery_worker(env, var, concurrency=concurrency)
    with stack.running(worker):
        out = stack.run_module(
            quiet,
            "benches.harness.celery_load",
            "--noop", str(config.celery_noop_jobs),
            "--notifications", str(config.celery_notification_jobs),
            "--certificates", str(config.celery_certificate_jobs),
        )  # fmt: skip
    data: dict[str, Any] = json.loads(out.stdout)
    data["worker"] = f"prefork, concurrency {concurrency}, queue {queue}"
    data["broker"] = broker.kind
    return data
