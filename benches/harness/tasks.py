"""Bench-only Celery task, loaded by the bench's worker with ``--include benches.harness.tasks``.

``bench.noop`` does nothing but count itself in the hot-key store (one LMDB add, about 15 µs),
so the producer can see when every job has run without a result backend.
"""

from __future__ import annotations

from celery import shared_task

from apps.hotkeys.keys import hot_key
from apps.hotkeys.registry import get_store


def counter_key(run: str) -> bytes:
    """The hot key counting the jobs of one bench run."""
    return hot_key("public", "bench", "noop", run)


@shared_task(name="bench.noop", acks_late=True, ignore_result=True)
def bench_noop(*, run: str) -> None:
    """Count one completed job."""
    get_store().add(counter_key(run), 1, ttl=3600)
