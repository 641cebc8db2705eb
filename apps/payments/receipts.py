"""Payment receipts: a PDF per paid attempt, reachable by a signed link (sent by SMS).

The link carries the payment id signed with ``SECRET_KEY`` (salted): it cannot be guessed or
changed, and it only resolves on the agency host whose schema holds the payment.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.template.loader import render_to_string
from django.utils import translation

from apps.agencies.models import Agency
from apps.certificates.rendering import html_to_pdf
from apps.certificates.selectors import agency_base_url
from apps.core.tenancy import current_schema
from apps.payments.models import Payment

SALT = "payments.receipt"


def receipt_token(payment: Payment) -> str:
    """The signed token of a payment's receipt link."""
    return signing.dumps(str(payment.pk), salt=SALT, compress=True)


def receipt_payment_id(token: str) -> str | None:
    """The payment id a receipt token names, or None when it was not signed by us."""
    try:
        return str(signing.loads(token, salt=SALT))
    except signing.BadSignature:
        return None


def receipt_url(payment: Payment, *, base_url: str | None = None) -> str:
    """The public link to the receipt PDF."""
    return f"{base_url or agency_base_url()}/payments/receipts/{receipt_token(payment)}/"


def masked_phone(phone: str) -> str:
    """``+228 •• •• •• 01``: enough for the citizen to recognise their number."""
    return f"{phone[:4]} •• •• •• {phone[-2:]}" if len(phone) >= 6 else "••"


def receipt_context(payment: Payment) -> dict[str, Any]:
    """What the receipt shows: reference, amount, network, date, agency."""
    refund = getattr(payment, "refund", None)
    return {
        "payment": payment,
        "application": payment.application,
        "service": payment.application.service,
        "agency": Agency.objects.filter(schema_name=current_schema()).first(),
        "phone": masked_phone(payment.phone),
        "refund": refund,
    }


def receipt_pdf(payment: Payment, *, language: str = "fr") -> bytes:
    """The receipt of a paid (or refunded) attempt as PDF bytes."""
    with translation.override(language):
        html = render_to_string("payments/receipt.html", receipt_context(payment))
    return html_to_pdf(html)
