"""The public receipt link (sent by SMS): a signed token, resolved in the host's agency only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from apps.payments.models import PaymentStatus
from apps.payments.receipts import receipt_payment_id, receipt_pdf
from apps.payments.selectors import payment_get


def receipt_download(request: HttpRequest, token: str) -> HttpResponse:
    """The receipt PDF of the payment the token names, if it is paid and in this agency."""
    payment_id = receipt_payment_id(token)
    payment = payment_get(payment_id=payment_id) if payment_id else None
    if payment is None or payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        raise Http404
    language = str(getattr(request, "LANGUAGE_CODE", "fr"))[:2]
    response = HttpResponse(receipt_pdf(payment, language=language), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{payment.identifier}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
