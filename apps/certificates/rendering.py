"""Certificate PDFs: an HTML template rendered to PDF by xhtml2pdf, with the QR code on it."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
from django.template.loader import render_to_string
from django.utils import translation
from qrcode.constants import ERROR_CORRECT_M
from xhtml2pdf import pisa


class RenderingError(Exception):
    """xhtml2pdf could not produce the PDF."""


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as PNG bytes (error correction M: survives a crease or a stain)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=4, border=2)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_certificate_html(*, context: dict[str, Any], qr_text: str, language: str) -> str:
    """The certificate's HTML with the QR code inlined as a data URI."""
    qr_data_uri = "data:image/png;base64," + base64.b64encode(qr_png(qr_text)).decode("ascii")
    with translation.override(language):
        return render_to_string(
            "certificates/certificate.html",
            {**context, "qr_data_uri": qr_data_uri, "language": language},
        )


def html_to_pdf(html: str) -> bytes:
    """Render HTML (xhtml2pdf's subset of CSS) to PDF bytes."""
    output = io.BytesIO()
    result = pisa.CreatePDF(html, dest=output, encoding="utf-8")
    if result.err:
        raise RenderingError(f"xhtml2pdf reported {result.err} error(s)")
    return output.getvalue()
