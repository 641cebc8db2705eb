"""Fees paid by mobile money (T-Money, Flooz) through an aggregator: payments, refunds, receipts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Payments, refunds, exemptions and the payment policy live in each agency's schema."""

    name = "apps.payments"
    label = "payments"
    verbose_name = _("Payments")
    default_auto_field = "django.db.models.BigAutoField"
