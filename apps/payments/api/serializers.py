"""Input and output serializers of the payment APIs (unique names, every field described)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.serializers import StrictInputSerializer
from apps.payments.models import Network, Payment, PaymentStatus, RefundStatus
from apps.payments.receipts import masked_phone, receipt_url
from apps.payments.services import MAX_REASON_CHARS

TOGO_PHONE = re.compile(r"^(?:\+?228)?(\d{8})$")


class PaymentStartInputSerializer(StrictInputSerializer):
    network = serializers.ChoiceField(
        choices=Network.choices, help_text=_("The mobile-money network: `tmoney` or `flooz`.")
    )
    phone = serializers.CharField(
        max_length=16,
        help_text=_("The mobile-money number that pays (`+228` and 8 digits, or 8 digits)."),
    )

    def validate_phone(self, value: str) -> str:
        match = TOGO_PHONE.match(value.replace(" ", ""))
        if match is None:
            raise serializers.ValidationError(_("Enter a Togolese number: +228 and 8 digits."))
        return f"+228{match.group(1)}"


class FeeExemptionInputSerializer(StrictInputSerializer):
    category = serializers.SlugField(
        max_length=64, help_text=_("Code of one of the agency's exemption categories.")
    )
    reason = serializers.CharField(
        max_length=MAX_REASON_CHARS,
        help_text=_("Why the fee is waived (kept in the history and the audit trail)."),
    )


class PaymentRefundOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=RefundStatus.choices, help_text=_("Where the refund stands.")
    )
    amount_xof = serializers.IntegerField(help_text=_("Amount sent back, in CFA francs."))
    reason = serializers.CharField(
        help_text=_("Why: `rejected`, `withdrawn`, `not_owed` or `paid_twice`.")
    )
    refunded_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the money was sent back.")
    )


class PaymentOutputSerializer(serializers.ModelSerializer):
    application = serializers.UUIDField(
        source="application_id", help_text=_("The application this payment is for.")
    )
    reference = serializers.CharField(
        source="application.reference", help_text=_("The application's reference.")
    )
    status = serializers.ChoiceField(
        choices=PaymentStatus.choices,
        help_text=_(
            "pending (confirm on your phone), unknown (being checked), succeeded, failed, "
            "cancelled, expired, refunded."
        ),
    )
    phone = serializers.SerializerMethodField(help_text=_("The paying number, masked."))
    receipt_url = serializers.SerializerMethodField(
        help_text=_("Link to the PDF receipt once paid (null before).")
    )
    refund = serializers.SerializerMethodField(help_text=_("The refund, if any (null otherwise)."))

    class Meta:
        model = Payment
        fields = (
            "id",
            "identifier",
            "application",
            "reference",
            "status",
            "amount_xof",
            "currency",
            "network",
            "phone",
            "created_at",
            "expires_at",
            "paid_at",
            "receipt_url",
            "refund",
        )
        extra_kwargs = {
            "id": {"help_text": _("The payment's identifier (UUID).")},
            "identifier": {"help_text": _("Our reference of this attempt, given to the provider.")},
            "amount_xof": {"help_text": _("Amount in CFA francs (whole francs).")},
            "currency": {"help_text": _("Always XOF.")},
            "network": {"help_text": _("tmoney or flooz.")},
            "created_at": {"help_text": _("When the attempt started.")},
            "expires_at": {"help_text": _("Unconfirmed after this moment, the attempt expires.")},
            "paid_at": {"help_text": _("When the provider confirmed the payment.")},
        }

    def get_phone(self, payment: Payment) -> str:
        return masked_phone(payment.phone)

    @extend_schema_field(OpenApiTypes.URI)
    def get_receipt_url(self, payment: Payment) -> str | None:
        if payment.paid_at is None or payment.status not in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.REFUNDED,
        ):
            return None
        return receipt_url(payment, base_url=self.context.get("base_url"))

    @extend_schema_field(PaymentRefundOutputSerializer(allow_null=True))
    def get_refund(self, payment: Payment) -> dict[str, Any] | None:
        if self.context.get("new_payment"):  # just started: it has no refund
            return None
        refund = getattr(payment, "refund", None) if hasattr(payment, "refund") else None
        return PaymentRefundOutputSerializer(refund).data if refund is not None else None


class PaymentCallbackOutputSerializer(serializers.Serializer):
    identifier = serializers.CharField(help_text=_("The attempt the callback was about."))
    status = serializers.ChoiceField(
        choices=PaymentStatus.choices, help_text=_("Its status after the check with the provider.")
    )
