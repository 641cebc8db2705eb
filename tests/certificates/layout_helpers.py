"""Deterministic certificates of the demo services, for the layout tests (no database)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

from apps.applications.demo import sample_value
from apps.catalogue.demo import DEMO_DOCUMENTS, DEMO_SERVICES
from apps.certificates.codes import check_character
from apps.certificates.demo import DEMO_SIGNATORIES, demo_seal
from apps.certificates.models import DocumentSettings
from apps.certificates.preview import document_content
from apps.certificates.rendering import render_certificate_pdf

AGENCY_NAMES = {
    "etat-civil": ("Direction de l'état civil", "Civil Registry Office"),
    "mairie-lome": ("Mairie de Lomé", "Lomé City Hall"),
}
ISSUED_AT = datetime.datetime(2026, 12, 1, 10, 30, tzinfo=datetime.UTC)
DATA = "7K3MQ9XD2HBTPW4"
CODE = DATA + check_character(DATA)
# A real token is this long: the QR code of the tests has the size of the real ones.
TOKEN = "eyJhIjoiZXRhdC1jaXZpbCIsImMiOiI3SzNNUTlYRDJIQlRQVzRaIiwiZCI6IjIwMjYtMTItMDEi" * 5


def demo_services() -> list[tuple[str, dict[str, Any]]]:
    """(agency slug, service definition) of every demo service."""
    return [(slug, service) for slug, items in DEMO_SERVICES.items() for service in items]


def demo_certificate(slug: str, service: dict[str, Any], language: str) -> tuple[bytes, dict]:
    """The PDF (unsigned) and content of a demo service's certificate, fixed date and code."""
    name_fr, name_en = AGENCY_NAMES[slug]
    agency = SimpleNamespace(slug=slug, name_fr=name_fr, name_en=name_en)
    signatory, title_fr, title_en = DEMO_SIGNATORIES[slug]
    settings_row = DocumentSettings(
        signatory_name=signatory,
        signatory_title_fr=title_fr,
        signatory_title_en=title_en,
        place_of_issue="Lomé",
    )
    content = document_content(
        agency=agency,
        service=SimpleNamespace(**service),
        definition=DEMO_DOCUMENTS[service["code"]],
        definition_version=1,
        answers=sample_value(service["form_schema"]),
        account_name="Afi Mensah",
        language=language,
        settings_row=settings_row,
        reference="EC-2026-000123",
        code=CODE,
        issued_at=ISSUED_AT,
        issued_on=ISSUED_AT.date().isoformat(),
        base_url=f"https://{slug}.guichet.gouv.tg",
    )
    qr_text = f"{content['verify_url']}#{TOKEN}"
    pdf = render_certificate_pdf(
        content={**content, "kid": "certificates-20261201-3f9a1c2e"},
        qr_text=qr_text,
        seal=demo_seal(),
    )
    return pdf, {**content, "qr_text": qr_text}
