"""Fixtures of the application tests: a published service per agency, files, callers, states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from apps.accounts.models import Role, User
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind, issue_partner_token
from apps.agencies.models import Agency
from apps.applications import services
from apps.applications.models import Application
from apps.applications.samples import sample_file
from apps.catalogue.models import Service
from apps.payments.models import PaymentPolicy

SERVICE_CODE = "copie-acte-naissance"
DOC = "piece-identite"
MAX_BYTES = 64 * 1024

FORM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "nom": {"type": "string", "title": "Nom de famille", "minLength": 2},
        "naissance": {
            "type": "object",
            "title": "Naissance",
            "properties": {
                "date": {"type": "string", "format": "date", "title": "Date de naissance"},
                "lieu": {"type": "string", "title": "Lieu de naissance"},
            },
            "required": ["date"],
        },
        "copies": {"type": "integer", "minimum": 1, "maximum": 5, "title": "Nombre de copies"},
    },
    "required": ["nom", "naissance", "copies"],
    "additionalProperties": False,
}
DOCUMENT_TYPES = [
    {
        "code": DOC,
        "label_fr": "Pièce d'identité",
        "label_en": "Identity document",
        "mime_types": ["application/pdf", "image/jpeg", "image/png"],
        "max_bytes": MAX_BYTES,
        "required": True,
    },
    {
        "code": "justificatif",
        "label_fr": "Justificatif",
        "label_en": "Supporting document",
        "mime_types": ["application/pdf"],
        "max_bytes": MAX_BYTES,
        "required": False,
    },
]
VALID_FORM = {"nom": "Mensah", "naissance": {"date": "2001-04-12", "lieu": "Lomé"}, "copies": 2}

PDF = sample_file("application/pdf")  # real files: uploads are read by pypdf and Pillow
PNG = sample_file("image/png")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
SCRIPT = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"
HTML = b"<html><script>alert(1)</script></html>"


def upload(content: bytes = PDF, name: str = "piece.pdf", content_type: str = "application/pdf"):
    """A file as a browser would upload it (name and type are the client's claims only)."""
    return SimpleUploadedFile(name, content, content_type=content_type)


def service_create(schema: str, *, code: str = SERVICE_CODE, **fields: Any) -> Service:
    with schema_context(schema):
        return Service.objects.create(
            code=code,
            name_fr=fields.pop("name_fr", "Copie d'acte de naissance"),
            name_en=fields.pop("name_en", "Birth certificate copy"),
            category="etat-civil",
            form_schema=fields.pop("form_schema", FORM_SCHEMA),
            document_types=fields.pop("document_types", DOCUMENT_TYPES),
            fee_xof=500,
            sla_working_days=fields.pop("sla_working_days", 5),
            is_published=fields.pop("is_published", True),
            **fields,
        )


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Attachments of each test go to their own directory."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def service_a(db: None, agency_a: Agency) -> Service:
    return service_create(agency_a.schema_name)


@pytest.fixture
def service_b(db: None, agency_b: Agency) -> Service:
    return service_create(agency_b.schema_name)


@dataclass
class Caller:
    """Someone calling the API: the person (None for anonymous/partner) and a token."""

    name: str
    user: User | None
    token: str | None
    role: str = ""


@pytest.fixture
def people(
    db: None,
    agency_a: Agency,
    agency_b: Agency,
    citizen: User,
    other_citizen: User,
    staff_of,
    tokens,
) -> dict[str, Caller]:
    """Every kind of caller of the permission matrix, for agency A."""
    callers: dict[str, Caller] = {
        "anonymous": Caller("anonymous", None, None),
        "citizen": Caller("citizen", citizen, tokens(citizen).access, "citizen"),
        "other_citizen": Caller(
            "other_citizen", other_citizen, tokens(other_citizen).access, "citizen"
        ),
    }
    for role in (Role.AGENT, Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.AUDITOR):
        user = staff_of(agency_a, role)
        callers[str(role)] = Caller(
            str(role), user, tokens(user, TokenKind.STAFF, agency=agency_a, role=role).access, role
        )
    other = staff_of(agency_b, Role.SUPERVISOR)
    callers["other_agency_staff"] = Caller(
        "other_agency_staff",
        other,
        tokens(other, TokenKind.STAFF, agency=agency_b, role=Role.SUPERVISOR).access,
        Role.SUPERVISOR,
    )
    client, _secret = partner_client_create(
        name="Banque", grants={agency_a: ["applications:read", "catalogue:read"]}
    )
    callers["partner"] = Caller(
        "partner",
        None,
        issue_partner_token(
            client_uuid=str(client.id),
            client_id=client.client_id,
            agency=agency_a.schema_name,
            scopes=["applications:read", "catalogue:read"],
        ).access,
    )
    return callers


# --- Building applications in a given state through the services ----------------------------


def _as(schema: str, fn: Callable[[], Any]) -> Any:
    with schema_context(schema):
        return fn()


def draft(
    schema: str,
    citizen: User,
    *,
    form: dict[str, Any] | None = None,
    attach: bool = True,
    service_code: str = SERVICE_CODE,
) -> Application:
    """A draft with valid answers and (by default) its required document."""

    def make() -> Application:
        application = services.application_create(
            citizen=citizen, service_code=service_code, form_data=form or VALID_FORM
        )
        if attach:
            services.attachment_add(
                application_id=application.id, citizen=citizen, document_type=DOC, upload=upload()
            )
        application.refresh_from_db()
        return application

    return _as(schema, make)


def advance(schema: str, application: Application, action: str, actor: User, role: str, **kw):
    """Make one transition as ``actor`` with the current ETag."""

    def make() -> Application:
        current = Application.objects.get(pk=application.pk)
        return services.application_transition(
            application_id=application.pk,
            action=action,
            actor=actor,
            role=role,
            if_match=current.etag,
            **kw,
        )

    return _as(schema, make)


@pytest.fixture
def in_state(agency_a: Agency, citizen: User, staff_of) -> Callable[..., Application]:
    """``in_state(status, agent=None)``: an application of ``citizen`` in agency A in that state."""

    def make(status: str, *, agent: User | None = None, owner: User | None = None) -> Application:
        schema = agency_a.schema_name
        owner = owner or citizen
        application = draft(schema, owner)
        if status == "draft":
            return application
        if status == "withdrawn":
            return advance(schema, application, "withdraw", owner, "citizen")
        if status == "awaiting_payment":  # the agency collects the service's fee online
            with schema_context(schema):
                PaymentPolicy.objects.create(collects_online=True)
            return advance(schema, application, "submit", owner, "citizen")
        application = advance(schema, application, "submit", owner, "citizen")
        if status == "submitted":
            return application
        agent = agent or staff_of(agency_a, Role.AGENT)
        application = advance(schema, application, "take", agent, Role.AGENT)
        if status == "in_review":
            return application
        if status == "info_requested":
            return advance(
                schema, application, "request_info", agent, Role.AGENT, reason="Photo illisible"
            )
        if status == "approved":
            return advance(schema, application, "approve", agent, Role.AGENT)
        if status == "rejected":
            return advance(schema, application, "reject", agent, Role.AGENT, reason="Hors délai")
        supervisor = staff_of(agency_a, Role.SUPERVISOR)
        application = advance(schema, application, "approve", agent, Role.AGENT)
        assert status == "closed", status
        return advance(schema, application, "close", supervisor, Role.SUPERVISOR)

    return make
