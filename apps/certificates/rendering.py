"""Certificate PDFs: an official A4 layout drawn with ReportLab, with the QR code on it.

The page: the State header (République Togolaise — Travail, Liberté, Patrie) and the agency's
name and seal on every page, the document title, the person concerned (and the requester when
someone else asked), the record data and fixed paragraphs of the service's document
definition, place and date of issue, the signatory, and a verification box (QR code, printed
URL, verification code). Every page's footer carries the document number, the verification
code and ``Page n / N``.

ReportLab draws the PDF directly (no HTML engine: every box is measured, long values wrap and
flow onto a second page rather than being cut). Fonts are the DejaVu/Vera TrueType files
shipped inside the ReportLab package, embedded in the PDF: nothing is fetched at run time.
What is printed comes only from ``content`` (stored with the certificate), so a certificate
can be rendered again identically (``certificates_resign``).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import qrcode
import reportlab
from django.utils import translation
from django.utils.translation import gettext as _
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from apps.catalogue.documents import format_date

FONT = "GuichetSans"
FONT_BOLD = "GuichetSans-Bold"
FONT_ITALIC = "GuichetSans-Oblique"
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#555555")
GREEN = colors.HexColor("#006a4e")  # the flag's green, for rules
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 2 * cm
HEADER_HEIGHT = 5.0 * cm
FOOTER_HEIGHT = 1.6 * cm
QR_SIZE = 5.0 * cm
SEAL_SIZE = 2.6 * cm
QR_MASK = 2


class RenderingError(Exception):
    """The PDF could not be produced."""


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the TrueType fonts shipped with ReportLab (Vera: Latin-1 with accents)."""
    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "VeraBd.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, str(folder / "VeraIt.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC)


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of a QR code of ``text`` (error correction M, quiet zone of 4 included).

    The mask pattern is fixed: choosing the best of eight by their penalty scores took most
    of the rendering time (pure Python), for no difference a scanner notices.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK)
    code.add_data(text)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


class QRFlowable(Flowable):
    """A QR code drawn as vector squares: sharp at any print resolution, no image to decode."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(text)
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        """One path of horizontal runs of dark modules."""
        count = len(self.matrix)
        module = self.size / count
        path = self.canv.beginPath()
        for row, line in enumerate(self.matrix):
            y = self.size - (row + 1) * module
            column = 0
            while column < count:
                if line[column]:
                    start = column
                    while column < count and line[column]:
                        column += 1
                    path.rect(start * module, y, (column - start) * module, module)
                else:
                    column += 1
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


def _style(name: str, **kwargs: Any) -> ParagraphStyle:
    base: dict[str, Any] = {
        "fontName": FONT,
        "fontSize": 10.5,
        "leading": 14,
        "textColor": INK,
        "splitLongWords": True,
    }
    return ParagraphStyle(name, **{**base, **kwargs})


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


class _NumberedCanvas(pdfcanvas.Canvas):
    """Draws every page's header and footer once the page count is known (``Page n / N``)."""

    def __init__(self, *args: Any, chrome: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []
        self._chrome = chrome

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self._chrome(self, self._pageNumber, total)
            super().showPage()
        super().save()


def _chrome_painter(content: dict[str, Any], seal: bytes | None) -> Any:
    """The function drawing the header and footer of page ``number`` of ``total``."""
    agency_style = _style("agency", fontName=FONT_BOLD, fontSize=12, leading=15, alignment=1)
    seal_reader = ImageReader(io.BytesIO(seal)) if seal else None

    def paint(canvas: Any, number: int, total: int) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - 1.3 * cm
        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, 12.5)
        canvas.drawCentredString(PAGE_WIDTH / 2, top, "RÉPUBLIQUE TOGOLAISE")
        canvas.setFont(FONT_ITALIC, 9.5)
        canvas.drawCentredString(PAGE_WIDTH / 2, top - 13, "Travail – Liberté – Patrie")
        canvas.setStrokeColor(GREEN)
        canvas.setLineWidth(1.2)
        canvas.line(PAGE_WIDTH / 2 - 1.6 * cm, top - 20, PAGE_WIDTH / 2 + 1.6 * cm, top - 20)
        if seal_reader is not None:
            canvas.drawImage(
                seal_reader,
                MARGIN,
                PAGE_HEIGHT - 1.0 * cm - SEAL_SIZE,
                width=SEAL_SIZE,
                height=SEAL_SIZE,
                preserveAspectRatio=True,
                anchor="c",
                mask="auto",
            )
        name = Paragraph(escape(content["agency_name"]), agency_style)
        width = PAGE_WIDTH - 2 * MARGIN - 2 * (SEAL_SIZE + 0.3 * cm)
        _w, height = name.wrap(width, 3 * cm)
        name.drawOn(canvas, (PAGE_WIDTH - width) / 2, top - 30 - height)
        canvas.setStrokeColor(MUTED)
        canvas.setLineWidth(0.5)
        rule = PAGE_HEIGHT - HEADER_HEIGHT + 0.3 * cm
        canvas.line(MARGIN, rule, PAGE_WIDTH - MARGIN, rule)
        # Footer.
        canvas.line(MARGIN, FOOTER_HEIGHT, PAGE_WIDTH - MARGIN, FOOTER_HEIGHT)
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        left = _("Document no. %(number)s · Verification code %(code)s") % {
            "number": content["number"],
            "code": content["code"],
        }
        canvas.drawString(MARGIN, FOOTER_HEIGHT - 12, left)
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN,
            FOOTER_HEIGHT - 12,
            _("Page %(number)d / %(total)d") % {"number": number, "total": total},
        )
        canvas.restoreState()

    return paint


def _story(content: dict[str, Any], qr_text: str) -> list[Flowable]:
    language = content["language"]
    title = _style("title", fontName=FONT_BOLD, fontSize=17, leading=21, alignment=TA_CENTER)
    label = _style("label", textColor=MUTED, fontSize=10)
    value = _style("value", fontName=FONT_BOLD)
    text = _style("text", alignment=TA_JUSTIFY)
    right = _style("right", alignment=TA_RIGHT)
    small = _style("small", fontSize=8.5, leading=11, textColor=MUTED)
    story: list[Flowable] = [_p(content["title"], title), Spacer(1, 0.6 * cm)]

    rows: list[list[Flowable]] = [
        [_p(_("Person concerned"), label), _p(content["holder"], value)],
    ]
    if content.get("requester"):
        rows.append([_p(_("Requested by"), label), _p(content["requester"], value)])

    def flush() -> None:
        if rows:
            table = Table(rows, colWidths=[6 * cm, PAGE_WIDTH - 2 * MARGIN - 6 * cm])
            table.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d0d0")),
                    ]
                )
            )
            story.append(table)
            story.append(Spacer(1, 0.3 * cm))
            rows.clear()

    for block in content["blocks"]:
        if "text" in block:
            flush()
            story.append(_p(block["text"], text))
            story.append(Spacer(1, 0.3 * cm))
        else:
            rows.append([_p(block["label"], label), _p(block["value"], value)])
    flush()

    story.append(Spacer(1, 0.5 * cm))
    made = _("Done at %(place)s, on %(date)s") % {
        "place": content["place"],
        "date": format_date(content["issued_on"], language),
    }
    signatory = [
        _p(made, right),
        Spacer(1, 0.3 * cm),
        _p(content["signatory_title"], _style("sigt", fontName=FONT_BOLD, alignment=TA_RIGHT)),
        _p(content["signatory_name"], right),
        _p(_("(signed electronically)"), _style("sign", fontSize=8.5, alignment=TA_RIGHT)),
    ]
    story.append(KeepTogether(signatory))
    story.append(Spacer(1, 0.6 * cm))

    url = content["verify_url"]
    check = [
        _p(_("Check this document"), _style("ch", fontName=FONT_BOLD)),
        Spacer(1, 0.15 * cm),
        _p(_("Scan the QR code, or open this address:"), small),
        _p(url, _style("url", fontSize=9, leading=12)),
        Spacer(1, 0.15 * cm),
        _p(_("Verification code:"), small),
        _p(content["code"], _style("code", fontName=FONT_BOLD, fontSize=13, leading=16)),
        Spacer(1, 0.15 * cm),
        _p(
            _(
                "Signed electronically by the agency (PAdES signature inside this PDF, key "
                "%(kid)s). The QR code carries the main data signed with the same key: it can "
                "be checked offline."
            )
            % {"kid": content["kid"]},
            small,
        ),
    ]
    box = Table(
        [[QRFlowable(qr_text, QR_SIZE), check]],
        colWidths=[QR_SIZE + 0.4 * cm, PAGE_WIDTH - 2 * MARGIN - QR_SIZE - 0.4 * cm],
    )
    box.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.5, MUTED),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    story.append(KeepTogether([box]))
    return story


def render_certificate_pdf(
    *, content: dict[str, Any], qr_text: str, seal: bytes | None = None
) -> bytes:
    """The certificate's PDF (unsigned: ``apps.certificates.pdfsign`` signs it)."""
    register_fonts()
    language = content.get("language", "fr")
    output = io.BytesIO()
    with translation.override(language):
        try:
            document = BaseDocTemplate(
                output,
                pagesize=A4,
                title=content["title"],
                author=content["agency_name"],
                subject=content["number"],
                creator="Guichet",
                lang=language,
                invariant=True,
            )
            frame = Frame(
                MARGIN,
                FOOTER_HEIGHT + 0.4 * cm,
                PAGE_WIDTH - 2 * MARGIN,
                PAGE_HEIGHT - HEADER_HEIGHT - FOOTER_HEIGHT - 0.4 * cm,
                id="body",
                leftPadding=0,
                rightPadding=0,
            )
            document.addPageTemplates([PageTemplate(id="page", frames=[frame])])
            painter = _chrome_painter(content, seal)

            def make_canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
                return _NumberedCanvas(*args, chrome=painter, **kwargs)

            document.build(_story(content, qr_text), canvasmaker=make_canvas)
        except (KeyError, ValueError, OSError) as exc:
            raise RenderingError(f"the certificate could not be rendered: {exc}") from exc
    return output.getvalue()
