"""QR codes of ``otpauth://`` URIs as inline SVG, drawn on the server (no outside resource)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An ``<svg>`` element drawing ``data`` as a QR code (error correction M)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2 :]
    # Built from our own URI by the library: no markup from the request ends up here.
    return mark_safe(svg.strip())  # noqa: S308
