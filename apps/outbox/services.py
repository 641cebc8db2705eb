"""Writing, relaying and delivering outbox messages.

* ``outbox_enqueue``: write a message in the caller's transaction; after commit the relay is
  kicked once for every message the transaction wrote (a broker outage then only delays
  them: the periodic relay publishes them later).
* ``outbox_relay``: claim due pending messages of the current schema with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` and publish them to Celery. Concurrent relays never
  publish the same row: a row is either locked by another relay (skipped) or already leased.
* ``outbox_process``: what the delivery task does. Under the row lock: a message that is not
  pending any more is left alone (a delivered row is never delivered again); otherwise the
  handler runs and the row becomes ``sent``, or the attempt is counted and the row is either
  scheduled again with exponential backoff or dead-lettered after ``OUTBOX_MAX_ATTEMPTS``.
* ``outbox_requeue``: an operator sends dead letters back (audited).
* ``outbox_purge_sent``: delivered messages older than ``OUTBOX_RETENTION_DAYS`` go away
  (dead letters stay until an operator re-queues them).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

import structlog
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client import Counter

from apps.audit.services import audit_record
from apps.core.context import get_context
from apps.core.tenancy import current_schema
from apps.outbox.broker import broker_publisher
from apps.outbox.handlers import DeliveryError, Verdict, check_for, handler_for
from apps.outbox.models import Kind, OutboxMessage, Status

logger = structlog.get_logger(__name__)

MAX_ERROR_CHARS = 2000
# Interrupted attempts whose outcome nobody can tell (status ``unknown``: operators decide).
OUTCOME_UNKNOWN = Counter(
    "guichet_outbox_outcome_unknown_total",
    "Outbox messages whose interrupted attempt could not be checked with the provider",
    ["kind"],
)
# A retry that arrives this early (clock skew, timer slack) still counts as due.
EARLY_TOLERANCE = timedelta(seconds=5)


# --- Settings ------------------------------------------------------------------------------


def max_attempts() -> int:
    """Attempts before a message is dead-lettered (``OUTBOX_MAX_ATTEMPTS``)."""
    return max(1, int(settings.OUTBOX_MAX_ATTEMPTS))


def retry_delay(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: exponential, capped, with 10 % jitter."""
    base = float(settings.OUTBOX_RETRY_BASE_SECONDS)
    cap = float(settings.OUTBOX_RETRY_MAX_SECONDS)
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * (1 + random.random() / 10)  # noqa: S311 - jitter, not security


def lease() -> timedelta:
    """How long a published message is not published again (``OUTBOX_LEASE_SECONDS``)."""
    return timedelta(seconds=float(settings.OUTBOX_LEASE_SECONDS))


# --- Enqueue -------------------------------------------------------------------------------


def outbox_enqueue(
    *,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str = "",
    not_before: Any = None,
) -> OutboxMessage | None:
    """Write one message in the current schema, in the caller's transaction.

    ``payload`` holds ids and plain values (JSON), never ORM objects or personal data.
    ``dedupe_key`` makes the enqueue happen once per key and schema: when a row with that key
    exists already, nothing is written and None is returned. The relay is kicked for the row
    once the transaction commits (nothing happens if it rolls back).
    """
    if kind not in Kind.values:
        raise ValueError(f"unknown outbox kind {kind!r}")
    message = OutboxMessage(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        next_attempt_at=not_before or timezone.now(),
        request_id=get_context().request_id[:64],
    )
    if dedupe_key:
        # One statement, no savepoint: a duplicate is skipped by the database, and the statement
        # can ride with the transaction's queued writes (``apps.core.batching``).
        if not _insert_unless_duplicate(message):
            logger.info("outbox_duplicate_skipped", kind=kind)
            return None
    else:
        message.save(force_insert=True)
    _kick_after_commit([message.pk])
    return message


_INSERT_FIELDS = tuple(OutboxMessage._meta.concrete_fields)
# Built once from the model's own column names (no outside input).
_INSERT_UNLESS_DUPLICATE_SQL = (  # noqa: S608
    'INSERT INTO "{table}" ({columns}) VALUES ({placeholders}) '
    'ON CONFLICT DO NOTHING RETURNING "id"'
).format(
    table=OutboxMessage._meta.db_table,
    columns=", ".join(f'"{field.column}"' for field in _INSERT_FIELDS),
    placeholders=", ".join(["%s"] * len(_INSERT_FIELDS)),
)


def _insert_unless_duplicate(message: OutboxMessage) -> bool:
    """Insert ``message`` unless its ``dedupe_key`` exists already; whether it was inserted."""
    connection = transaction.get_connection()
    params = [
        field.get_db_prep_save(field.pre_save(message, add=True), connection)
        for field in _INSERT_FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_UNLESS_DUPLICATE_SQL, params)
        inserted = cursor.fetchone() is not None
    if inserted:
        message._state.adding = False
        message._state.db = connection.alias
    return inserted


# --- After-commit kick ---------------------------------------------------------------------


@dataclass
class _Kick:
    """The messages one outermost transaction wrote, by schema, relayed together at its commit.

    Every write registers ``run`` with ``on_commit`` (so a write in a savepoint that rolls back
    takes its registration with it, and the others still run); the first registration to run
    relays them all and the rest do nothing. An id whose row was rolled back with a savepoint
    is simply not found by the relay's claim.
    """

    owner: object  # the outermost atomic block (None: autocommit, ``run`` is called at once)
    message_ids: dict[str, list[UUID]] = field(default_factory=dict)
    is_done: bool = False

    def run(self) -> None:
        if self.is_done:
            return
        self.is_done = True
        _kick(self.message_ids)


# The kick being collected on each database connection (connections are per thread).
_kicks: WeakKeyDictionary[BaseDatabaseWrapper, _Kick] = WeakKeyDictionary()


def _kick_after_commit(message_ids: list[UUID]) -> None:
    """Relay ``message_ids`` (current schema) after the commit, with the transaction's others."""
    connection = transaction.get_connection()
    owner = connection.atomic_blocks[0] if connection.in_atomic_block else None
    kick = _kicks.get(connection)
    # A kick left by a transaction that rolled back (nothing ran it) is replaced, unless the
    # same atomic object is reused (a decorated function called again): its ids then join
    # this kick, and the claim does not find their rows.
    if kick is None or kick.is_done or owner is None or kick.owner is not owner:
        kick = _Kick(owner=owner)
        _kicks[connection] = kick
    kick.message_ids.setdefault(current_schema(), []).extend(message_ids)
    transaction.on_commit(kick.run)


def _kick(message_ids: dict[str, list[UUID]]) -> None:
    """After commit: publish these rows now, over one broker connection, in claims of at most
    ``OUTBOX_RELAY_BATCH`` rows. A failure is logged and stops the kick; the rows it did not
    publish stay due and the periodic relay publishes them.
    """
    batch = int(settings.OUTBOX_RELAY_BATCH)
    try:
        with broker_publisher() as publish:
            for schema, ids in message_ids.items():
                with schema_context(schema):
                    for start in range(0, len(ids), batch):
                        chunk = ids[start : start + batch]
                        _published, failed = _relay(
                            limit=len(chunk), message_ids=chunk, publish=publish
                        )
                        if failed:
                            return
    except Exception:  # never turn a committed change into an error for the caller
        logger.exception("outbox_kick_failed", schemas=list(message_ids))


# --- Relay ---------------------------------------------------------------------------------


def outbox_relay(
    *,
    limit: int | None = None,
    message_ids: Sequence[UUID] | None = None,
    leased_before: datetime | None = None,
) -> int:
    """Publish the due pending messages of the current schema; return how many were published.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and leased once published (only then: a
    row whose publishing failed stays due), so relays running at the same time (the
    after-commit kick, the periodic task, several workers) never publish a row twice.
    ``leased_before`` (a worker that has just reconnected to the broker) also takes the rows
    leased before that moment: their published copies may have been lost with the broker.
    A broker failure stops the batch; unpublished rows stay due.
    """
    if limit is None:
        # The whole backlog, batch after batch (a batch that published nothing ends it).
        total = 0
        while True:
            published, failed = _relay(
                limit=None, message_ids=message_ids, publish=None, leased_before=leased_before
            )
            total += published
            if failed or published < int(settings.OUTBOX_RELAY_BATCH):
                return total
    published, _failed = _relay(
        limit=limit, message_ids=message_ids, publish=None, leased_before=leased_before
    )
    return published


def _relay(
    *,
    limit: int | None,
    message_ids: Sequence[UUID] | None,
    publish: Callable[[UUID, str], None] | None,
    leased_before: datetime | None = None,
) -> tuple[int, bool]:
    """``outbox_relay`` over ``publish`` (None: a publisher of its own, only if rows are due).

    Returns how many rows were published and whether publishing failed.
    """
    now = timezone.now()
    batch = limit or int(settings.OUTBOX_RELAY_BATCH)
    published: list[UUID] = []
    failed = False
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    if leased_before is not None:
        # lease_until is (time of publishing) + lease: published before ``leased_before``.
        free |= Q(lease_until__lt=leased_before + lease())
    with transaction.atomic():
        claim = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(free)
        )
        if message_ids is not None:
            claim = claim.filter(pk__in=list(message_ids))
        rows = list(claim.order_by("next_attempt_at").values_list("pk", "request_id")[:batch])
        if not rows:
            return 0, False
        try:
            with ExitStack() as stack:
                send = publish or stack.enter_context(broker_publisher())
                for pk, request_id in rows:
                    send(pk, request_id)
                    published.append(pk)
        except Exception as exc:
            failed = True
            logger.warning(
                "outbox_publish_failed",
                schema=current_schema(),
                published=len(published),
                pending=len(rows) - len(published),
                error=exc.__class__.__name__,
            )
        if published:
            OutboxMessage.objects.filter(pk__in=published).update(lease_until=now + lease())
    if published:
        logger.info("outbox_relayed", schema=current_schema(), published=len(published))
    return len(published), failed


# --- Delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessOutcome:
    """What one delivery attempt did: the row's status and, if retried, in how many seconds."""

    status: str
    retry_in: float | None = None


def _error_text(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]


def outbox_process(*, message_id: UUID) -> ProcessOutcome:
    """Attempt one message of the current schema, at most once at a time, never after success.

    The attempt is recorded (``attempt_started_at``, committed) before the handler contacts
    the provider, and cleared with its outcome. Finding it set means an earlier attempt was
    interrupted after that point (a killed worker): the kind's check asks the provider before
    anything is sent again (``apps.outbox.handlers``). One attempt at a time per message: a
    PostgreSQL advisory lock of the session, held from the record to the outcome, released by
    the server if the worker dies (a copy arriving meanwhile returns ``busy``).

    Returns ``missing`` (no such row), ``not_due`` (an early duplicate), ``busy``, the status
    it found (``sent``/``dead``/``unknown``: nothing done), or the outcome of this attempt.
    """
    with _attempt_lock(message_id) as acquired:
        if not acquired:
            logger.info("outbox_attempt_busy")
            return ProcessOutcome("busy")
        return _process(message_id)


@contextmanager
def _attempt_lock(message_id: UUID) -> Iterator[bool]:
    key = f"outbox:{current_schema()}:{message_id}"
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        row = cursor.fetchone()
    acquired = bool(row and row[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
            except DatabaseError:  # the connection is gone, and the lock with it
                logger.warning("outbox_attempt_unlock_failed")


def _process(message_id: UUID) -> ProcessOutcome:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return ProcessOutcome("missing")
        if message.status != Status.PENDING:
            logger.info("outbox_already_done", kind=message.kind, status=message.status)
            return ProcessOutcome(message.status)
        if message.next_attempt_at > timezone.now() + EARLY_TOLERANCE:
            return ProcessOutcome("not_due")
        in_doubt = message.attempt_started_at is not None
        if not in_doubt:
            message.attempt_started_at = timezone.now()
            message.save(update_fields=["attempt_started_at"])
    # Committed: from here on a crash leaves the attempt on record.
    verdict = Verdict.NOT_DELIVERED
    if in_doubt:
        check = check_for(message.kind)
        try:
            verdict = check(message) if check is not None else Verdict.REPEAT
        except Exception as exc:  # the provider could not be asked now: ask again later
            with transaction.atomic():
                message = OutboxMessage.objects.select_for_update().get(pk=message_id)
                return _attempt_failed(message, exc, now=timezone.now(), in_doubt=True)
        logger.warning("outbox_attempt_in_doubt", kind=message.kind, verdict=verdict)
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status != Status.PENDING:
            return ProcessOutcome(message.status)
        now = timezone.now()
        if verdict == Verdict.UNKNOWN:
            return _outcome_unknown(message, now=now)
        if verdict != Verdict.DELIVERED:
            try:
                with transaction.atomic():
                    handler_for(message.kind)(message)
            except Exception as exc:
                return _attempt_failed(message, exc, now=now)
        message.attempts += 1
        message.status = Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.attempt_started_at = None
        message.save(
            update_fields=["attempts", "status", "sent_at", "last_error", "attempt_started_at"]
        )
    logger.info("outbox_sent", kind=message.kind, attempts=message.attempts, verdict=verdict)
    return ProcessOutcome(Status.SENT)


def _outcome_unknown(message: OutboxMessage, *, now: datetime) -> ProcessOutcome:
    """The interrupted attempt cannot be checked nor repeated safely: shown to operators."""
    message.status = Status.UNKNOWN
    message.last_error = (
        "attempt interrupted after the provider was contacted; the provider cannot say "
        "whether it took the message (not sent again)"
    )
    message.save(update_fields=["status", "last_error"])
    audit_record(
        action="outbox.outcome_unknown",
        target_type="outbox_message",
        target_id=message.pk,
        outcome="failure",
        changes={"status": {"old": Status.PENDING, "new": Status.UNKNOWN}},
    )
    OUTCOME_UNKNOWN.labels(kind=message.kind).inc()
    logger.warning("outbox_outcome_unknown", kind=message.kind)
    return ProcessOutcome(Status.UNKNOWN)


def _attempt_failed(
    message: OutboxMessage, exc: Exception, *, now: Any, in_doubt: bool = False
) -> ProcessOutcome:
    on_failure = getattr(exc, "on_failure", None)
    if on_failure is not None:
        on_failure()
    permanent = isinstance(exc, DeliveryError) and exc.permanent
    if not (in_doubt or getattr(exc, "in_doubt", False)):
        message.attempt_started_at = None  # the provider said no: nothing to check next time
    message.attempts += 1
    message.last_error = _error_text(exc)
    if permanent or message.attempts >= max_attempts():
        message.status = Status.DEAD
        message.dead_at = now
        message.save(
            update_fields=["attempts", "last_error", "status", "dead_at", "attempt_started_at"]
        )
        audit_record(
            action="outbox.dead_lettered",
            target_type="outbox_message",
            target_id=message.pk,
            outcome="failure",
            changes={
                "status": {"old": Status.PENDING, "new": Status.DEAD},
                "attempts": {"old": message.attempts - 1, "new": message.attempts},
            },
        )
        logger.warning(
            "outbox_dead_lettered",
            kind=message.kind,
            attempts=message.attempts,
            error=exc.__class__.__name__,
        )
        return ProcessOutcome(Status.DEAD)
    delay = retry_delay(message.attempts)
    message.next_attempt_at = now + timedelta(seconds=delay)
    # The retry is published by the task itself; the relay takes over only if it is lost.
    message.lease_until = message.next_attempt_at + lease()
    message.save(
        update_fields=[
            "attempts",
            "last_error",
            "next_attempt_at",
            "lease_until",
            "attempt_started_at",
        ]
    )
    logger.warning(
        "outbox_attempt_failed",
        kind=message.kind,
        attempts=message.attempts,
        retry_in=round(delay, 3),
        error=exc.__class__.__name__,
    )
    return ProcessOutcome(Status.PENDING, retry_in=delay)


# --- Operators -----------------------------------------------------------------------------


@transaction.atomic
def outbox_requeue(*, message_ids: Iterable[UUID]) -> int:
    """Send dead letters and messages in doubt (``unknown``) of the current schema back to the
    relay, attempts reset (audited).

    Other messages are left alone. Returns how many were re-queued.
    """
    now = timezone.now()
    messages = list(
        OutboxMessage.objects.select_for_update()
        .filter(pk__in=list(message_ids), status__in=[Status.DEAD, Status.UNKNOWN])
        .order_by("created_at")
    )
    for message in messages:
        old_status = message.status
        message.status = Status.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.lease_until = None
        message.dead_at = None
        # An operator who re-queues a message in doubt chose to send it again.
        message.attempt_started_at = None
        message.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "lease_until",
                "dead_at",
                "attempt_started_at",
            ]
        )
        audit_record(
            action="outbox.requeued",
            target_type="outbox_message",
            target_id=message.pk,
            changes={"status": {"old": old_status, "new": Status.PENDING}},
        )
    if messages:
        _kick_after_commit([m.pk for m in messages])
    return len(messages)


def outbox_purge_sent(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete delivered messages of the current schema older than the retention; returns count.

    Dead and pending messages are never purged. Deletes in batches so a large backlog does
    not hold one long transaction.
    """
    cutoff = (now or timezone.now()) - timedelta(days=float(settings.OUTBOX_RETENTION_DAYS))
    deleted = 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(status=Status.SENT, sent_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:batch]
        )
        if not ids:
            break
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        logger.info("outbox_purged", schema=current_schema(), deleted=deleted)
    return deleted
