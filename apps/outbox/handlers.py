"""Who delivers each kind of outbox message, and how a delivery reports a failure.

A handler is ``handler(message) -> None``: it performs the side effect of one message (send an
SMS, POST a webhook, render a document) or raises. It runs inside the transaction that marks
the message sent, under the message's row lock, in a savepoint: database writes of a failed
attempt are rolled back. A handler that needs to keep a record of the failed attempt (the
webhook delivery log) passes ``on_failure``: it runs after the rollback, in the same
transaction as the failure bookkeeping.

An attempt is recorded (committed) before the handler contacts anyone. When a delivery finds
the record of an attempt that never recorded its outcome (the worker died mid-way), the kind's
*check* decides what to do (``CHECKS``; a kind without one is simply attempted again):

* ``DELIVERED``: the provider has it (found by its stable id): marked sent, not sent again;
* ``NOT_DELIVERED``: the provider never got it: sent now;
* ``REPEAT``: the provider cannot be asked, and the stable id it was given lets the receiving
  end drop a repeat (e-mail ``Message-ID``, webhook event id): sent again with the same id;
* ``UNKNOWN``: the provider can neither be asked nor drop a repeat (an SMS gateway without a
  status query): the message becomes ``unknown`` and is shown to operators; never sent twice.
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
    "realtime": "apps.realtime.services.realtime_event_publish",
}


# kind -> dotted path of its check ``check(message) -> Verdict`` (kinds without one: REPEAT).
CHECKS: dict[str, str] = {
    "notification": "apps.notifications.handlers.notification_check",
}


class Verdict:
    """What a check found out about an attempt that did not record its outcome."""

    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"
    REPEAT = "repeat"
    UNKNOWN = "unknown"


class DeliveryError(Exception):
    """An attempt failed. Retried with backoff unless ``permanent`` (then dead-lettered now).

    ``in_doubt``: the provider may have taken the message all the same (a timeout after the
    request was sent): the next attempt checks first, like after a crash.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        on_failure: Callable[[], None] | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.on_failure = on_failure
        self.in_doubt = in_doubt


def handler_for(kind: str) -> Handler:
    """The handler of ``kind``; KeyError for a kind nobody handles."""
    handler: Handler = import_string(HANDLERS[kind])
    return handler


def check_for(kind: str) -> Callable[[OutboxMessage], str] | None:
    """The check of ``kind`` (None: attempting again is harmless)."""
    path = CHECKS.get(kind)
    if path is None:
        return None
    check: Callable[[OutboxMessage], str] = import_string(path)
    return check
