"""Every read of payments used by the APIs, the console, the tasks and the receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from apps.payments.models import Network, Payment, PaymentStatus


def payment_get(*, payment_id: Any) -> Payment | None:
    """The payment ``payment_id`` of the current agency, or None (also for a malformed id)."""
    try:
        UUID(str(payment_id))
    except ValueError:
        return None
    return Payment.objects.select_related("application__service").filter(pk=payment_id).first()


def payment_list_for_citizen(*, citizen_id: UUID) -> QuerySet[Payment]:
    """The citizen's own payments in the current agency, newest first."""
    return (
        Payment.objects.select_related("application__service", "refund")
        .filter(citizen_id=citizen_id)
        .order_by("-created_at", "id")
    )


def payment_get_for_citizen(*, payment_id: UUID, citizen_id: UUID) -> Payment | None:
    """The citizen's own payment, or None (another citizen's is "not found" too)."""
    return payment_list_for_citizen(citizen_id=citizen_id).filter(pk=payment_id).first()


def payment_list_for_application(*, application_id: UUID) -> QuerySet[Payment]:
    """Every attempt of an application (staff and console)."""
    return (
        Payment.objects.select_related("refund")
        .filter(application_id=application_id)
        .order_by("-created_at", "id")
    )


@dataclass(frozen=True)
class ReportRow:
    """One network's line of the daily reconciliation report (amounts in XOF)."""

    network: str
    label: str
    expected_count: int
    expected_xof: int
    confirmed_count: int
    confirmed_xof: int
    pending_count: int
    pending_xof: int
    refunded_count: int
    refunded_xof: int


def reconciliation_report(*, day: date) -> list[ReportRow]:
    """Per network, the attempts started on ``day`` (agency's time zone): what was asked
    (expected), paid (confirmed, refunded ones included), still open (pending) and refunded."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = start + timedelta(days=1)
    paid = Q(status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED])
    pending = Q(status__in=[PaymentStatus.PENDING, PaymentStatus.UNKNOWN])
    refunded = Q(status=PaymentStatus.REFUNDED)
    rows: dict[str, dict[str, Any]] = {
        row["network"]: dict(row)
        for row in Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("network")
        .annotate(
            expected_count=Count("id"),
            expected_xof=Sum("amount_xof"),
            confirmed_count=Count("id", filter=paid),
            confirmed_xof=Sum("amount_xof", filter=paid),
            pending_count=Count("id", filter=pending),
            pending_xof=Sum("amount_xof", filter=pending),
            refunded_count=Count("id", filter=refunded),
            refunded_xof=Sum("amount_xof", filter=refunded),
        )
    }
    report = []
    for network in Network:
        row: dict[str, Any] = rows.get(network.value, {})
        report.append(
            ReportRow(
                network=network.value,
                label=str(network.label),
                **{
                    name: int(row.get(name) or 0)
                    for name in (
                        "expected_count",
                        "expected_xof",
                        "confirmed_count",
                        "confirmed_xof",
                        "pending_count",
                        "pending_xof",
                        "refunded_count",
                        "refunded_xof",
                    )
                },
            )
        )
    return report
