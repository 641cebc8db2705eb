"""Payments of application fees, their refunds, fee exemptions and the agency's policy.

Agency schema. A ``Payment`` is one attempt to collect an application's fee, under our own
unique ``identifier`` given to the provider (never reused: a new attempt is a new row). Its
status only moves forward (``apps.payments.services``), under the row lock, after the status
was read from the provider; the database refuses a second paid attempt for an application.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PERSON = models.DO_NOTHING  # people live in the public schema (see apps.applications.models)


class Network(models.TextChoices):
    """How the citizen pays."""

    TMONEY = "tmoney", _("T-Money (Mixx by Yas)")
    FLOOZ = "flooz", _("Flooz (Moov Africa)")


class PaymentStatus(models.TextChoices):
    """Where a payment attempt stands. ``pending`` and ``unknown`` are not final."""

    PENDING = "pending", _("Pending (waiting for the citizen's confirmation)")
    # The provider's answer was lost (timeout, 5xx): resolved by a status check, never re-sent.
    UNKNOWN = "unknown", _("Unknown (being checked with the provider)")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")


OPEN_STATUSES = frozenset({PaymentStatus.PENDING, PaymentStatus.UNKNOWN})
PAID_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})


class RefundStatus(models.TextChoices):
    """Where a refund (a disbursement to the citizen's wallet) stands."""

    PENDING = "pending", _("Pending")
    UNKNOWN = "unknown", _("Unknown (being checked with the provider)")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class PaymentPolicy(models.Model):
    """The agency's rules about fees (one row per agency; defaults when there is none).

    ``collects_online``: a fee must be paid through the platform before the agency sees the
    application (off: fees are paid at the counter, as before). Refunds follow
    ``refund_on_rejection`` and ``refund_on_withdrawal``.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    collects_online = models.BooleanField(_("fees paid online before review"), default=False)
    refund_on_rejection = models.BooleanField(_("refund when rejected"), default=True)
    refund_on_withdrawal = models.BooleanField(_("refund when withdrawn"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("payment policy")
        verbose_name_plural = _("payment policy")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="payments_policy_one")
        ]

    def __str__(self) -> str:
        return str(_("Payment policy"))


class ExemptionCategory(models.Model):
    """A reason the agency accepts for waiving a fee (indigence certificate, civil servant...)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("exemption category")
        verbose_name_plural = _("exemption categories")
        ordering = ("code",)

    def __str__(self) -> str:
        return self.label_fr


class FeeExemption(models.Model):
    """A fee waived for one application by a supervisor, with the category and the reason."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.OneToOneField(
        "applications.Application",
        on_delete=models.CASCADE,
        related_name="fee_exemption",
        verbose_name=_("application"),
    )
    category = models.ForeignKey(
        ExemptionCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    reason = models.TextField(_("reason"), max_length=2000)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=PERSON, related_name="+", verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"reason"})

    class Meta:
        verbose_name = _("fee exemption")
        verbose_name_plural = _("fee exemptions")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.category_id}"


class Payment(models.Model):
    """One attempt to collect an application's fee through a provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Ours, unique, given to the provider: the key of every status check and callback.
    identifier = models.CharField(_("identifier"), max_length=64, unique=True)
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("application"),
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=PERSON, related_name="+", verbose_name=_("citizen")
    )
    provider = models.CharField(_("provider"), max_length=32)
    network = models.CharField(_("network"), max_length=16, choices=Network.choices)
    phone = models.CharField(_("phone number"), max_length=20)
    amount_xof = models.PositiveIntegerField(_("amount (XOF)"))
    currency = models.CharField(_("currency"), max_length=3, default="XOF")
    status = models.CharField(
        _("status"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    provider_reference = models.CharField(_("provider reference"), max_length=64, blank=True)
    # The operator's own reference of the transfer (shown on the receipt).
    payment_reference = models.CharField(_("operator reference"), max_length=64, blank=True)
    failure_reason = models.CharField(_("failure"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    checks = models.PositiveIntegerField(_("status checks"), default=0)

    AUDIT_REDACTED_FIELDS: ClassVar[frozenset[str]] = frozenset({"phone"})

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ("-created_at",)
        constraints = [
            # Paid exactly once: at most one successful (or later refunded) attempt.
            # (Conditions are written with OR, not IN: PostgreSQL prints an IN list over a
            # varchar in a form that does not read back identically, and agency creation
            # clones indexes from their printed definitions.)
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="succeeded") | Q(status="refunded"),
                name="payments_paid_once",
            ),
            # At most one attempt in flight per application (no double charge by retries).
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="pending") | Q(status="unknown"),
                name="payments_one_open_attempt",
            ),
            models.CheckConstraint(condition=Q(amount_xof__gt=0), name="payments_amount_positive"),
            models.CheckConstraint(
                condition=(~Q(status="succeeded") & ~Q(status="refunded"))
                | Q(paid_at__isnull=False),
                name="payments_paid_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="payments_status_idx"),
            models.Index(fields=["citizen", "-created_at"], name="payments_citizen_idx"),
            models.Index(fields=["paid_at"], name="payments_paid_at_idx"),
        ]

    def __str__(self) -> str:
        return self.identifier

    @property
    def is_open(self) -> bool:
        """Not final yet: the provider may still confirm it."""
        return self.status in OPEN_STATUSES


class Refund(models.Model):
    """Money sent back to the citizen's wallet for a paid application (provider disbursement)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identifier = models.CharField(_("identifier"), max_length=64, unique=True)
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="refund", verbose_name=_("payment")
    )
    amount_xof = models.PositiveIntegerField(_("amount (XOF)"))
    reason = models.CharField(_("reason"), max_length=32)  # rejected, withdrawn, late_payment
    status = models.CharField(
        _("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    provider_reference = models.CharField(_("provider reference"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["status"], name="payments_refund_status_idx")]

    def __str__(self) -> str:
        return self.identifier
