"""Every write of payments: start, check with the provider, settle, refund, exempt.

Rules that make payments correct under failures (docs/payments.md):

* a payment row (our own unique ``identifier``) is committed *before* the provider is asked,
  so a crash after the provider took it leaves a row the reconciliation resolves;
* a provider timeout or 5xx after the request left makes the attempt ``unknown``: it is never
  sent again, a status check resolves it;
* a callback is authenticated and then only a trigger: the status is re-read from the provider
  and only that answer moves the payment, after its amount and currency were checked;
* the status only moves forward, under the payment's row lock; the database allows one
  successful attempt per application; the application's hand-over to the agency, the audit
  events, the notifications and the webhook events commit in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.applications.errors import ApplicationNotFound
from apps.applications.models import Application
from apps.applications.services import application_transition
from apps.applications.services.common import application_lock
from apps.applications.workflow import Actor, Status
from apps.audit.services import audit_record
from apps.certificates.selectors import agency_base_url
from apps.core.tenancy import current_schema
from apps.notifications.rendering import Template
from apps.notifications.services import notification_enqueue
from apps.payments.errors import (
    CallbackAmountMismatch,
    CallbackUnauthenticated,
    CallbackUnknownPayment,
    ExemptionCategoryUnknown,
    PaymentInProgress,
    PaymentNotDue,
    PaymentProviderUnavailable,
)
from apps.payments.metrics import (
    PAYMENTS_FINAL,
    PAYMENTS_REFUSED,
    PAYMENTS_STARTED,
    PROVIDER_UNKNOWN,
    REFUNDS_FINAL,
)
from apps.payments.models import (
    OPEN_STATUSES,
    ExemptionCategory,
    FeeExemption,
    Payment,
    PaymentPolicy,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from apps.payments.providers import (
    CallbackInvalid,
    ProviderError,
    ProviderStatus,
    ProviderUnavailable,
    RemoteStatus,
    provider_for,
)
from apps.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

# A payment the provider does not know this long after it started never reached it.
NEVER_REGISTERED_AFTER = timedelta(minutes=2)
# Closed by us (expired, cancelled) but a signed callback says otherwise: checked again.
RECHECK_ON_CALLBACK = frozenset({PaymentStatus.EXPIRED, PaymentStatus.CANCELLED})
MAX_REASON_CHARS = 2000


def new_identifier(prefix: str) -> str:
    """Our own unique identifier of an attempt (given to the provider)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def policy_get() -> PaymentPolicy:
    """The agency's payment policy (defaults, unsaved, when it never set one)."""
    return PaymentPolicy.objects.first() or PaymentPolicy()


def policy_update(*, changes: Mapping[str, bool]) -> PaymentPolicy:
    """Change the agency's payment policy (audited)."""
    with transaction.atomic():
        policy = PaymentPolicy.objects.select_for_update().first() or PaymentPolicy()
        before = {name: getattr(policy, name) for name in changes}
        for name, value in changes.items():
            setattr(policy, name, value)
        policy.updated_at = timezone.now()
        policy.save()
        audit_record(
            action="payment.policy_changed",
            target_type="payment_policy",
            target_id="policy",
            changes={
                name: {"old": before[name], "new": value}
                for name, value in changes.items()
                if before[name] != value
            },
        )
    return policy


def _callback_url() -> str:
    return f"{agency_base_url()}/api/v1/payments/callback/"


def _payment_changes(payment: Payment, old_status: str) -> dict[str, Any]:
    return {"status": {"old": old_status, "new": payment.status}}


# --- Starting a payment --------------------------------------------------------------------


def payment_start(*, application_id: UUID, citizen: User, network: str, phone: str) -> Payment:
    """Start a payment of the application's fee: write the attempt, ask the provider after commit.

    Only the citizen who owns the application, only while it is ``awaiting_payment``, only one
    attempt at a time (409 ``payment_in_progress``). The provider is asked once the row is
    committed (``payment_initiate``); the answer is pending until the citizen confirms.
    """
    with transaction.atomic():
        try:
            application = application_lock(
                application_id=application_id, actor=citizen, role=Actor.CITIZEN
            )
        except ApplicationNotFound:  # someone else's, another agency's, or no such application
            PAYMENTS_REFUSED.labels(reason="application_not_found").inc()
            logger.info("payment_refused", reason="application_not_found")
            raise
        if application.status != Status.AWAITING_PAYMENT:
            PAYMENTS_REFUSED.labels(reason="not_due").inc()
            logger.info("payment_refused", reason="not_due", status=application.status)
            raise PaymentNotDue(extra={"current_status": application.status})
        if Payment.objects.filter(application=application, status__in=OPEN_STATUSES).exists():
            PAYMENTS_REFUSED.labels(reason="in_progress").inc()
            raise PaymentInProgress()
        if not settings.PAYMENTS_AGGREGATOR_URL:
            raise PaymentProviderUnavailable()
        now = timezone.now()
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    identifier=new_identifier("GCH"),
                    application=application,
                    citizen_id=citizen.pk,
                    provider="mobile_money",
                    network=network,
                    phone=phone,
                    amount_xof=application.service.fee_xof,
                    currency="XOF",
                    status=PaymentStatus.PENDING,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(minutes=int(settings.PAYMENTS_EXPIRY_MINUTES)),
                )
        except IntegrityError:  # a concurrent attempt won the one-open-attempt index
            raise PaymentInProgress() from None
        audit_record(
            action="payment.started",
            target_type="payment",
            target_id=payment.pk,
            changes={
                "status": {"old": None, "new": payment.status},
                "amount_xof": {"old": None, "new": payment.amount_xof},
                "network": {"old": None, "new": network},
                "application_id": {"old": None, "new": str(application.pk)},
            },
        )
        PAYMENTS_STARTED.labels(network=network).inc()
        callback_url = _callback_url()
        schema = current_schema()
        description = str(application.reference or application.pk)

        def initiate_after_commit() -> None:
            with schema_context(schema):
                payment_initiate(
                    payment_id=payment.pk,
                    callback_url=callback_url,
                    payment=payment,
                    description=description,
                )

        transaction.on_commit(initiate_after_commit)
    return payment


def payment_initiate(
    *,
    payment_id: UUID,
    callback_url: str = "",
    payment: Payment | None = None,
    description: str = "",
) -> Payment:
    """Ask the provider to collect a committed attempt (once: never repeated blindly).

    ``payment`` and ``description``: the attempt as ``payment_start`` just committed it (saves
    reading it again); otherwise it is read and must still be pending without a reference.
    """
    if payment is None:
        payment = Payment.objects.select_related("application").get(pk=payment_id)
        if payment.status != PaymentStatus.PENDING or payment.provider_reference:
            return payment
        description = str(payment.application.reference or payment.application_id)
    provider = provider_for(payment.provider)
    try:
        reference = provider.initiate(
            identifier=payment.identifier,
            amount_xof=payment.amount_xof,
            phone=payment.phone,
            network=payment.network,
            description=description,
            callback_url=callback_url,
        )
    except ProviderUnavailable as exc:
        if exc.sent:
            PROVIDER_UNKNOWN.labels(operation="initiate").inc()
            logger.warning("payment_initiate_outcome_unknown", identifier=payment.identifier)
            return _payment_close(payment_id, PaymentStatus.UNKNOWN, reason="initiate_unknown")
        logger.warning("payment_initiate_not_sent", identifier=payment.identifier)
        return _payment_close(payment_id, PaymentStatus.FAILED, reason="provider_unreachable")
    except ProviderError as exc:
        if exc.code == "duplicate_identifier":  # the provider has it already: ask, never resend
            return _payment_close(payment_id, PaymentStatus.UNKNOWN, reason="duplicate_identifier")
        logger.warning("payment_initiate_refused", identifier=payment.identifier, code=exc.code)
        return _payment_close(payment_id, PaymentStatus.FAILED, reason=exc.code or "refused")
    # One statement: only an attempt nobody closed meanwhile gets the reference.
    Payment.objects.filter(pk=payment_id, provider_reference="").update(
        provider_reference=reference[:64], updated_at=timezone.now()
    )
    payment.provider_reference = reference[:64]
    return payment


def _payment_close(payment_id: UUID, status: str, *, reason: str) -> Payment:
    """Move an open attempt to ``status`` (unknown, failed, expired, cancelled), audited."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if not payment.is_open or payment.status == status:
            return payment
        old = payment.status
        payment.status = status
        payment.failure_reason = reason[:200]
        payment.updated_at = timezone.now()
        payment.save(update_fields=["status", "failure_reason", "updated_at"])
        audit_record(
            action=f"payment.{status}",
            target_type="payment",
            target_id=payment.pk,
            changes={
                **_payment_changes(payment, old),
                "failure_reason": {"old": "", "new": reason},
            },
        )
        if status != PaymentStatus.UNKNOWN:
            PAYMENTS_FINAL.labels(status=status).inc()
    return payment


# --- Checking with the provider and settling -----------------------------------------------


def payment_check(*, payment_id: UUID, include_closed: bool = False) -> Payment:
    """Read the provider's status of an attempt and apply it (the one way a payment settles).

    ``include_closed``: also an attempt we expired or saw cancelled (a signed callback says it
    changed). A provider that does not answer changes nothing: the next check will tell.
    """
    payment = Payment.objects.get(pk=payment_id)
    checkable = payment.is_open or (include_closed and payment.status in RECHECK_ON_CALLBACK)
    if not checkable:
        return payment
    try:
        remote = provider_for(payment.provider).status(identifier=payment.identifier)
    except (ProviderUnavailable, ProviderError):
        PROVIDER_UNKNOWN.labels(operation="status").inc()
        logger.warning("payment_status_unavailable", identifier=payment.identifier)
        Payment.objects.filter(pk=payment_id).update(
            last_checked_at=timezone.now(), checks=payment.checks + 1
        )
        return payment
    return payment_apply_status(payment_id=payment_id, remote=remote, include_closed=include_closed)


@transaction.atomic
def payment_apply_status(
    *, payment_id: UUID, remote: ProviderStatus, include_closed: bool = False
) -> Payment:
    """Apply what the provider said, under the payment's row lock (repeats change nothing)."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    now = timezone.now()
    payment.last_checked_at = now
    payment.checks += 1
    reopenable = include_closed and payment.status in RECHECK_ON_CALLBACK
    if remote.status == RemoteStatus.PAID and (payment.is_open or reopenable):
        if remote.amount_xof != payment.amount_xof or remote.currency != payment.currency:
            PAYMENTS_REFUSED.labels(reason="amount_mismatch").inc()
            logger.error(
                "payment_amount_mismatch",
                identifier=payment.identifier,
                expected=payment.amount_xof,
                reported=remote.amount_xof,
            )
            payment.save(update_fields=["last_checked_at", "checks"])
            return _payment_close(payment_id, PaymentStatus.FAILED, reason="amount_mismatch")
        _payment_succeed(payment, remote, now=now)
        return payment
    if payment.is_open:
        if remote.status in (RemoteStatus.EXPIRED, RemoteStatus.CANCELLED):
            payment.save(update_fields=["last_checked_at", "checks"])
            return _payment_close(
                payment_id, str(remote.status), reason=f"provider_{remote.status}"
            )
        if (
            remote.status == RemoteStatus.NOT_FOUND
            and now - payment.created_at > NEVER_REGISTERED_AFTER
        ):
            payment.save(update_fields=["last_checked_at", "checks"])
            return _payment_close(payment_id, PaymentStatus.EXPIRED, reason="never_registered")
        if remote.status == RemoteStatus.PENDING:
            if now > payment.expires_at:
                payment.save(update_fields=["last_checked_at", "checks"])
                return _payment_close(payment_id, PaymentStatus.EXPIRED, reason="abandoned")
            if payment.status == PaymentStatus.UNKNOWN:  # the provider has it: waiting again
                payment.status = PaymentStatus.PENDING
                payment.provider_reference = payment.provider_reference or remote.provider_reference
                payment.updated_at = now
                audit_record(
                    action="payment.pending",
                    target_type="payment",
                    target_id=payment.pk,
                    changes=_payment_changes(payment, PaymentStatus.UNKNOWN),
                )
    payment.save()
    return payment


def _payment_succeed(payment: Payment, remote: ProviderStatus, *, now: datetime) -> None:
    """Mark the attempt paid and hand the application over (or refund it), one transaction."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service")
        .get(pk=payment.application_id)
    )
    old = payment.status
    already_paid = (
        Payment.objects.filter(application_id=application.pk, status=PaymentStatus.SUCCEEDED)
        .exclude(pk=payment.pk)
        .exists()
    )
    payment.paid_at = now
    payment.provider_reference = (remote.provider_reference or payment.provider_reference)[:64]
    payment.payment_reference = remote.payment_reference[:64]
    payment.updated_at = now
    if already_paid:  # a late answer of an attempt we had closed: money back, never twice
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = "paid_twice"
        payment.save()
        audit_record(
            action="payment.paid_twice",
            target_type="payment",
            target_id=payment.pk,
            changes=_payment_changes(payment, old),
        )
        refund_request(payment=payment, reason="paid_twice")
        return
    payment.status = PaymentStatus.SUCCEEDED
    payment.failure_reason = ""
    payment.save()
    audit_record(
        action="payment.succeeded",
        target_type="payment",
        target_id=payment.pk,
        changes={
            **_payment_changes(payment, old),
            "paid_at": {"old": None, "new": now.isoformat()},
            "amount_xof": {"old": payment.amount_xof, "new": payment.amount_xof},
        },
    )
    PAYMENTS_FINAL.labels(status="succeeded").inc()
    notification_enqueue(
        recipient_id=payment.citizen_id,
        template=Template.PAYMENT_RECEIVED,
        application_id=application.pk,
        payment_id=payment.pk,
        dedupe_key=f"payment-received:{payment.pk}",
    )
    webhook_event_emit(event="payment.succeeded", data=_webhook_data(payment, application))
    if application.status == Status.AWAITING_PAYMENT:
        application_transition(
            application_id=application.pk,
            action="confirm_payment",
            actor=User.objects.get(pk=payment.citizen_id),
            role=Actor.SYSTEM,
        )
    else:  # withdrawn or exempted while the citizen was paying: the fee is not owed
        refund_request(payment=payment, reason="not_owed")


def _webhook_data(payment: Payment, application: Application) -> dict[str, Any]:
    return {
        "payment_id": str(payment.pk),
        "application_id": str(application.pk),
        "reference": application.reference or "",
        "amount_xof": payment.amount_xof,
        "currency": payment.currency,
        "network": payment.network,
        "status": payment.status,
    }


# --- Callbacks -----------------------------------------------------------------------------


def payment_callback_receive(*, body: bytes, headers: Mapping[str, str]) -> Payment:
    """An aggregator callback: authenticate, find the attempt, then re-read its status.

    A forged or stale signature is 401, an unknown identifier 404, an amount that is not the
    one asked 400: logged, counted, nothing changed. Duplicates and callbacks arriving out of
    order are harmless: the provider's status, not the callback, moves the payment.
    """
    provider = provider_for()
    try:
        data = provider.verify_callback(body=body, headers=headers)
    except CallbackInvalid as exc:
        PAYMENTS_REFUSED.labels(reason=f"callback_{exc.reason}").inc()
        logger.warning("payment_callback_refused", reason=exc.reason)
        raise CallbackUnauthenticated() from None
    payment = Payment.objects.filter(identifier=data.identifier).first()
    if payment is None:
        PAYMENTS_REFUSED.labels(reason="callback_unknown").inc()
        logger.warning("payment_callback_refused", reason="unknown_identifier")
        raise CallbackUnknownPayment()
    if data.amount_xof is not None and data.amount_xof != payment.amount_xof:
        PAYMENTS_REFUSED.labels(reason="callback_amount_mismatch").inc()
        logger.warning(
            "payment_callback_refused", reason="amount_mismatch", identifier=payment.identifier
        )
        raise CallbackAmountMismatch()
    checkable = payment.is_open or payment.status in RECHECK_ON_CALLBACK
    if not checkable:  # final: a duplicate or a late repeat, nothing to do
        return payment
    if settings.PAYMENTS_CALLBACK_SETTLE == "inline":
        return payment_check(payment_id=payment.pk, include_closed=True)
    _check_kick(payment.pk)
    return payment


def _check_kick(payment_id: UUID) -> None:
    """Ask a worker to check the payment with the provider (the callback is answered now).

    Losing this message (broker down) only delays the payment: the reconciliation checks every
    open attempt anyway.
    """
    from apps.payments.tasks import payment_check_task

    try:
        payment_check_task.delay(str(payment_id))
    except Exception:
        logger.warning("payment_check_kick_failed")


# --- Refunds -------------------------------------------------------------------------------


def refund_request(*, payment: Payment, reason: str) -> Refund | None:
    """Queue the refund of a paid attempt, in the caller's transaction (once per payment)."""
    if Refund.objects.filter(payment=payment).exists():
        return None
    refund = Refund.objects.create(
        identifier=new_identifier("RFD"),
        payment=payment,
        amount_xof=payment.amount_xof,
        reason=reason[:32],
    )
    audit_record(
        action="payment.refund_requested",
        target_type="payment",
        target_id=payment.pk,
        changes={
            "refund": {"old": None, "new": reason},
            "amount_xof": {"old": None, "new": refund.amount_xof},
        },
    )
    schema = current_schema()
    transaction.on_commit(lambda: _refund_kick(refund.pk, schema))
    return refund


def _refund_kick(refund_id: UUID, schema: str) -> None:
    """Ask a worker to send the refund now (the periodic reconciliation does it otherwise)."""
    from apps.payments.tasks import refund_process_task

    try:
        with schema_context(schema):
            refund_process_task.delay(str(refund_id))
    except Exception:
        logger.warning("refund_kick_failed")


def payments_on_application_event(*, application: Any, event: str) -> int:
    """Refund what was paid for an application that is rejected or withdrawn (agency policy).

    Called inside the transition's transaction (``apps.notifications.dispatch``). Returns how
    many refunds were queued.
    """
    if event not in ("application.rejected", "application.withdrawn"):
        return 0
    policy = policy_get()
    wanted = (
        policy.refund_on_rejection
        if event == "application.rejected"
        else policy.refund_on_withdrawal
    )
    if not wanted:
        return 0
    reason = "rejected" if event == "application.rejected" else "withdrawn"
    queued = 0
    for payment in Payment.objects.select_for_update(of=("self",)).filter(
        application_id=application.pk, status=PaymentStatus.SUCCEEDED
    ):
        if refund_request(payment=payment, reason=reason) is not None:
            queued += 1
    return queued


def refund_process(*, refund_id: UUID) -> Refund:
    """Send a refund through the provider's disbursement, asking first after any doubt."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status not in (RefundStatus.PENDING, RefundStatus.UNKNOWN):
        return refund
    provider = provider_for(refund.payment.provider)
    if refund.attempts > 0:  # sent before (maybe): the provider's view decides, never a resend
        try:
            remote = provider.disbursement_status(identifier=refund.identifier)
        except (ProviderUnavailable, ProviderError):
            PROVIDER_UNKNOWN.labels(operation="disbursement_status").inc()
            return refund
        if remote.status != RemoteStatus.NOT_FOUND:
            return refund_apply_status(refund_id=refund_id, remote=remote)
    Refund.objects.filter(pk=refund_id).update(
        attempts=refund.attempts + 1, updated_at=timezone.now()
    )
    payment = refund.payment
    try:
        remote = provider.disburse(
            identifier=refund.identifier,
            amount_xof=refund.amount_xof,
            phone=payment.phone,
            network=payment.network,
            reason=refund.reason,
        )
    except ProviderUnavailable as exc:
        if exc.sent:
            PROVIDER_UNKNOWN.labels(operation="disburse").inc()
            Refund.objects.filter(pk=refund_id, status=RefundStatus.PENDING).update(
                status=RefundStatus.UNKNOWN
            )
        return Refund.objects.get(pk=refund_id)
    except ProviderError as exc:
        logger.error("refund_refused", code=exc.code)
        return refund_apply_status(
            refund_id=refund_id, remote=ProviderStatus(status=RemoteStatus.FAILED)
        )
    return refund_apply_status(refund_id=refund_id, remote=remote)


@transaction.atomic
def refund_apply_status(*, refund_id: UUID, remote: ProviderStatus) -> Refund:
    """Apply the provider's view of a disbursement, under the refund's and payment's locks."""
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status not in (RefundStatus.PENDING, RefundStatus.UNKNOWN):
        return refund
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    now = timezone.now()
    old = refund.status
    refund.updated_at = now
    if remote.status == RemoteStatus.PAID:
        refund.status = RefundStatus.SUCCEEDED
        refund.refunded_at = now
        refund.provider_reference = remote.provider_reference[:64]
        refund.save()
        old_payment = payment.status
        if payment.status == PaymentStatus.SUCCEEDED:
            payment.status = PaymentStatus.REFUNDED
            payment.updated_at = now
            payment.save(update_fields=["status", "updated_at"])
        audit_record(
            action="payment.refunded",
            target_type="payment",
            target_id=payment.pk,
            changes={
                "status": {"old": old_payment, "new": payment.status},
                "refund": {"old": old, "new": refund.status},
            },
        )
        REFUNDS_FINAL.labels(status="succeeded").inc()
        notification_enqueue(
            recipient_id=payment.citizen_id,
            template=Template.PAYMENT_REFUNDED,
            application_id=payment.application_id,
            payment_id=payment.pk,
            dedupe_key=f"payment-refunded:{payment.pk}",
        )
        application = Application.objects.get(pk=payment.application_id)
        webhook_event_emit(event="payment.refunded", data=_webhook_data(payment, application))
    elif remote.status == RemoteStatus.FAILED:
        refund.status = RefundStatus.FAILED
        refund.save()
        audit_record(
            action="payment.refund_failed",
            target_type="payment",
            target_id=payment.pk,
            changes={"refund": {"old": old, "new": refund.status}},
        )
        REFUNDS_FINAL.labels(status="failed").inc()
    else:
        refund.status = RefundStatus.PENDING
        refund.save()
    return refund


# --- Reconciliation ------------------------------------------------------------------------


def payments_reconcile(*, limit: int = 500) -> dict[str, int]:
    """Re-check every open attempt and push every unfinished refund (the periodic task)."""
    checked = 0
    for payment_id in (
        Payment.objects.filter(status__in=sorted(OPEN_STATUSES))
        .order_by("last_checked_at", "created_at")
        .values_list("pk", flat=True)[:limit]
    ):
        try:
            payment_check(payment_id=payment_id)
        except Exception:
            logger.exception("payment_reconcile_failed")
        checked += 1
    refunds = 0
    for refund_id in Refund.objects.filter(
        status__in=[RefundStatus.PENDING, RefundStatus.UNKNOWN]
    ).values_list("pk", flat=True)[:limit]:
        try:
            refund_process(refund_id=refund_id)
        except Exception:
            logger.exception("refund_reconcile_failed")
        refunds += 1
    return {"payments": checked, "refunds": refunds}


# --- Exemptions ----------------------------------------------------------------------------


def fee_exemption_grant(
    *,
    application_id: UUID,
    actor: User,
    role: str,
    category_code: str,
    reason: str,
    if_match: str | None,
) -> Application:
    """A supervisor waives the fee of an application waiting for payment, with a reason.

    The exemption row, its audit event and the hand-over to the agency (``exempt_fee``: status
    ``submitted``, history, audit) commit together. A payment in flight that succeeds later is
    refunded (``not_owed``).
    """
    text = (reason or "").strip()
    with transaction.atomic():
        category = ExemptionCategory.objects.filter(code=category_code, is_active=True).first()
        if category is None:
            raise ExemptionCategoryUnknown(
                errors={"category": [str(ExemptionCategoryUnknown.default_detail)]}
            )
        application = application_transition(
            application_id=application_id,
            action="exempt_fee",
            actor=actor,
            role=role,
            reason=text,
            if_match=if_match,
        )
        exemption = FeeExemption.objects.create(
            application=application,
            category=category,
            reason=text[:MAX_REASON_CHARS],
            granted_by=actor,
        )
        audit_record(
            action="payment.fee_exempted",
            target_type="application",
            target_id=application.pk,
            changes={
                "exemption_category": {"old": None, "new": category.code},
                "reason": {"old": None, "new": "[redacted]"},
                "exemption_id": {"old": None, "new": str(exemption.pk)},
            },
        )
    return application
