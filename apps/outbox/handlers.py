"""Who delivers each kind of outbox message, and how a delivery reports a failure.

A handler is ``handler(message) -> None``: it performs the side effect of one message (send an
SMS, POST a webhook, render a document) or raises. It runs inside the transaction that marks
the message sent, under the message's row lock, in a savepoint: database writes of a failed
attempt are rolled back. A handler that needs to keep a record of the failed attempt (the
webhook delivery log) passes ``on_failure``: it runs after the rollback, in the same
transaction as the failure bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from apps.outbox.models import OutboxMessage

Handler = Callable[["OutboxMessage"], None]

# kind -> dotted path of its handler (imported on first use: the apps own their handlers).
HANDLERS: dict[str, str] = {
    "notification": "apps.notifications.handlers.notification_deliver",
    "webhook": "apps.webhooks.handlers.webhook_deliver",
    "document": "apps.certificates.handlers.document_run",
}


class DeliveryError(Exception):
    """An attempt failed. Retried with backoff unless ``permanent`` (then dead-lettered now)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.on_failure = on_failure


def handler_for(kind: str) -> Handler:
    """The handler of ``kind``; KeyError for a kind nobody handles."""
    handler: Handler = import_string(HANDLERS[kind])
    return handler
