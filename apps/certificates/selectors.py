"""Reads of certificates: the constant-time lookup by code, lists and visibility, URLs."""

from __future__ import annotations

import hmac
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet

from apps.agencies.models import Agency, Domain
from apps.certificates.codes import code_digest
from apps.certificates.models import Certificate, DocumentSettings
from apps.core.tenancy import current_schema

# Compared against when no row matches, so both outcomes do the same work.
_ABSENT_DIGEST = "0" * 64


def certificate_get_by_code(*, code: str) -> Certificate | None:
    """The certificate of the current agency with this verification code, or None.

    The same path whatever the code: hash it, one indexed lookup by hash, one constant-time
    comparison (against a dummy digest when nothing matched). The code itself never reaches a
    comparison whose duration depends on how many characters are right.
    """
    digest = code_digest(code)
    certificate = Certificate.objects.filter(code_hash=digest).first()
    expected = certificate.code_hash if certificate is not None else _ABSENT_DIGEST
    matches = hmac.compare_digest(expected.encode(), digest.encode())
    return certificate if matches else None


def agency_current() -> Agency | None:
    """The agency of the current schema (None on the public schema)."""
    return Agency.objects.filter(schema_name=current_schema()).first()


def agency_base_url(schema: str | None = None) -> str:
    """``GUICHET_AGENCY_URL`` filled with the agency's primary domain."""
    domain = (
        Domain.objects.filter(tenant__schema_name=schema or current_schema(), is_primary=True)
        .values_list("domain", flat=True)
        .first()
    )
    return str(settings.GUICHET_AGENCY_URL).format(domain=domain or "").rstrip("/")


def certificate_verify_url(certificate: Certificate, *, base_url: str | None = None) -> str:
    """The public verification page of a certificate."""
    return f"{base_url or agency_base_url()}/verify/{certificate.code}/"


def certificate_list() -> QuerySet[Certificate]:
    """Every certificate of the current agency, newest first."""
    return Certificate.objects.select_related("application", "definition").order_by(
        "-issued_at", "id"
    )


def certificate_list_for_citizen(*, citizen_id: UUID) -> QuerySet[Certificate]:
    """The citizen's own certificates in the current agency."""
    return certificate_list().filter(citizen_id=citizen_id)


def document_settings() -> DocumentSettings:
    """The current agency's document settings (defaults when the admin never saved them)."""
    row = DocumentSettings.objects.filter(pk=1).first()
    return row if row is not None else DocumentSettings(pk=1)
