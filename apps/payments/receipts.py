"""Payment receipts: a PDF per paid attempt, reachable by a signed link (sent by SMS).

The link carries the payment id signed with ``SECRET_KEY`` (salted): it cannot be guessed or
changed, and it only resolves on the agency host whose schema holds the payment.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.core import signing
from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.agencies.models import Agency
from apps.certificates.rendering import FONT, FONT_BOLD, INK, MUTED, register_fonts
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


def _when(value: Any) -> str:
    return formats.date_format(value, "d/m/Y H:i") if value else "—"


def _rows(payment: Payment, context: dict[str, Any]) -> list[tuple[str, str]]:
    application, service, refund = context["application"], context["service"], context["refund"]
    rows = [
        (_("Receipt number"), payment.identifier),
        (_("Application"), f"{application.reference} — {service.name_fr}"),
        (_("Amount"), f"{payment.amount_xof} F CFA ({payment.currency})"),
        (_("Network"), f"{payment.get_network_display()} ({context['phone']})"),
        (_("Paid on"), _when(payment.paid_at)),
        (_("Operator reference"), payment.payment_reference or "—"),
        (_("Provider reference"), payment.provider_reference or "—"),
    ]
    if refund is not None and refund.status == "succeeded":
        rows.append((_("Refunded on"), f"{_when(refund.refunded_at)} ({refund.amount_xof} F CFA)"))
    return rows


def receipt_pdf(payment: Payment, *, language: str = "fr") -> bytes:
    """The receipt of a paid (or refunded) attempt as PDF bytes (A5 landscape, ReportLab, the
    certificates' embedded fonts: nothing is fetched)."""
    register_fonts()
    context = receipt_context(payment)
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, textColor=INK)
    label = ParagraphStyle("label", parent=body, textColor=MUTED)
    output = io.BytesIO()
    with translation.override(language):
        agency = context["agency"]
        agency_name = ""
        if agency is not None:
            agency_name = agency.name_en if language == "en" else agency.name_fr
        title = _("Payment receipt")
        table = Table(
            [
                [Paragraph(escape(name), label), Paragraph(escape(str(value)), body)]
                for name, value in _rows(payment, context)
            ],
            colWidths=[6 * cm, None],
        )
        table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT)])
        )
        bold = ParagraphStyle("agency", parent=body, fontName=FONT_BOLD)
        keep = _("This receipt proves the payment of the fee of the application above. Keep it.")
        story = [
            Paragraph(escape(agency_name), bold),
            Paragraph(escape(title), ParagraphStyle("title", parent=body, fontSize=15, leading=19)),
            Spacer(1, 0.3 * cm),
            table,
            Spacer(1, 0.4 * cm),
            Paragraph(escape(keep), ParagraphStyle("note", parent=label, fontSize=8)),
        ]
        document = SimpleDocTemplate(
            output,
            pagesize=landscape(A5),
            leftMargin=1.2 * cm,
            rightMargin=1.2 * cm,
            topMargin=1.2 * cm,
            bottomMargin=1.2 * cm,
            title=f"{title} {payment.identifier}",
            author=agency_name,
            creator="Guichet",
            lang=language,
        )
        document.build(story)
    return output.getvalue()
