"""A worker that (re)connects to the broker asks for an outbox relay at once.

While the broker is away, the after-commit kick cannot publish (the rows stay due, unleased)
and beat cannot send the periodic relay either; copies published just before the outage may
have been lost with the broker's memory (their rows are leased). Waiting for the next periodic
relay, or for the lease, would delay every held-back message by up to
``OUTBOX_RELAY_INTERVAL_SECONDS`` or ``OUTBOX_LEASE_SECONDS``. So each time a worker's consumer
has connected (at start and after every reconnection) it queues ``outbox.relay_all`` with
``leased_before`` = now: every due row is published, including rows leased before this moment.
A copy that did survive is delivered once all the same: ``outbox_process`` checks the row under
its lock. Two workers reconnecting together do not both republish: the first relay leases the
rows again after the moment the second one names.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import bootsteps
from django.utils import timezone

logger = structlog.get_logger(__name__)


class OutboxRelayOnConnect(bootsteps.StartStopStep):
    """Consumer step: queue an outbox relay each time the consumer has (re)connected."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        """Called by the consumer's blueprint at start and after every reconnection."""
        from apps.outbox.tasks import outbox_relay_all

        try:
            outbox_relay_all.apply_async(
                kwargs={"leased_before": timezone.now().isoformat()}, retry=False
            )
        except Exception as exc:  # the broker left again: the next connection asks again
            logger.warning("outbox_relay_on_connect_failed", error=type(exc).__name__)
        else:
            logger.info("outbox_relay_on_connect")
