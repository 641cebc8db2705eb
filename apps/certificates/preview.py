"""The printed content of a certificate, and previews of a document definition.

``document_content`` is the one place that decides what a certificate prints (issue, console
preview, reference images in the tests): the service's definition resolved against the
application's answers, the agency's document settings, the verification code and URL.
``definition_preview_pdf`` renders a definition with sample answers made from the service's
form, for the console's live preview; ``pdf_to_png`` turns the first page into a PNG with
poppler's ``pdftoppm`` when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from apps.catalogue.documents import resolve
from apps.certificates.codes import code_display

PREVIEW_CODE = "PREV1EW0000000000"[:15]


def document_content(
    *,
    agency: Any,
    service: Any,
    definition: dict[str, Any],
    definition_version: int,
    answers: Any,
    account_name: str,
    language: str,
    settings_row: Any,
    reference: str,
    code: str,
    issued_at: datetime,
    issued_on: str,
    base_url: str,
    decided_at: str = "",
) -> dict[str, Any]:
    """What a certificate prints (stored with it; its SHA-256 is signed in the QR code)."""
    english = language == "en"
    resolved = resolve(
        definition, form_schema=service.form_schema, answers=answers, language=language
    )
    holder = resolved["holder"] or account_name
    requester = "" if resolved["requester_is_holder"] or holder == account_name else account_name
    title = definition.get("title_en" if english else "title_fr") or (
        service.name_en if english else service.name_fr
    )
    signatory_title = (
        settings_row.signatory_title_en if english else settings_row.signatory_title_fr
    ) or ("For the agency" if english else "Pour l'agence")
    return {
        "v": 1,
        "language": language,
        "agency": agency.slug,
        "agency_name": agency.name_en if english else agency.name_fr,
        "service_code": service.code,
        "definition_version": definition_version,
        "title": title,
        "holder": holder,
        "requester": requester,
        "blocks": resolved["blocks"],
        "reference": reference,
        "number": reference,
        "decided_at": decided_at,
        "issued_at": issued_at.isoformat(),
        "issued_on": issued_on,
        "place": settings_row.place_of_issue or "Lomé",
        "signatory_name": settings_row.signatory_name or agency.name_fr,
        "signatory_title": signatory_title,
        "seal": settings_row.seal_path,
        "code": code_display(code),
        "verify_url": f"{base_url}/verify/{code}/",
    }


def definition_preview_pdf(
    *, agency: Any, service: Any, definition: dict[str, Any], language: str = "fr"
) -> bytes:
    """A definition rendered with sample answers from the form (console preview; unsigned)."""
    from django.utils import timezone

    from apps.applications.demo import sample_value
    from apps.certificates.codes import check_character
    from apps.certificates.rendering import render_certificate_pdf
    from apps.certificates.selectors import agency_base_url, document_settings
    from apps.certificates.services import seal_bytes

    code = PREVIEW_CODE + check_character(PREVIEW_CODE)
    settings_row = document_settings()
    now = timezone.now()
    content = document_content(
        agency=agency,
        service=service,
        definition=definition,
        definition_version=0,
        answers=sample_value(service.form_schema),
        account_name="Afi MENSAH",
        language=language,
        settings_row=settings_row,
        reference="APERCU-0000",
        code=code,
        issued_at=now,
        issued_on=timezone.localdate(now).isoformat(),
        base_url=agency_base_url(),
    )
    return render_certificate_pdf(
        content={**content, "kid": "preview"},
        qr_text=f"{content['verify_url']}#preview",
        seal=seal_bytes(settings_row.seal_path),
    )


def pdf_to_png(pdf: bytes, *, dpi: int = 75, gray: bool = False) -> bytes | None:
    """The first page as PNG (``pdftoppm``), or None when poppler is not installed."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        arguments = [tool, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile"]
        if gray:
            arguments.append("-gray")
        subprocess.run(  # noqa: S603 - fixed arguments, our own file
            [*arguments, str(source), str(Path(folder) / "out")], check=True, timeout=30
        )
        return (Path(folder) / "out.png").read_bytes()
