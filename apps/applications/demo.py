"""Demo applications for ``manage.py seed_demo`` (demo data only, never in production).

For each demo agency and each demo citizen, applications in several states are created through
the same services as the API (drafts, submissions, reviews, requests for information,
decisions), so references, history, audit events and the cross-agency index are all real.
Answers are made from each service's form (its ``examples``/``default`` values, or plausible
values by type) and required documents from a tiny valid file of an accepted type.
Idempotent: an agency where a demo citizen already has an application is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role, User
from apps.agencies.models import Agency
from apps.applications import services
from apps.applications.models import Application
from apps.applications.samples import SAMPLE_TYPES, sample_file
from apps.catalogue.models import Service
from apps.catalogue.selectors import service_list_published
from apps.catalogue.validation import form_data_errors

# Each demo citizen gets, per agency, one application in each of these states.
DEMO_STATES = ("draft", "submitted", "in_review", "info_requested", "approved", "rejected")

SAMPLE_STRINGS = {
    "date": "1994-03-17",
    "date-time": "2026-01-05T09:30:00+00:00",
    "email": "afi.mensah@example.tg",
    "uri": "https://example.tg",
}


@dataclass(frozen=True)
class DemoStaff:
    """The demo agent and supervisor of one agency."""

    agent: User
    supervisor: User


def sample_value(schema: Any) -> Any:
    """A plausible value for a JSON Schema (examples and defaults first)."""
    if not isinstance(schema, dict):
        return "Exemple"
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for keyword in ("oneOf", "anyOf"):
        if schema.get(keyword):
            return sample_value(schema[keyword][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: sample_value(child) for name, child in properties.items()}
    if kind == "array":
        return [sample_value(schema.get("items") or {})] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    text = SAMPLE_STRINGS.get(str(schema.get("format")), schema.get("title") or "Exemple")
    return str(text).ljust(int(schema.get("minLength", 0)), "x")


def _sample_upload(document_type: dict[str, Any]) -> SimpleUploadedFile | None:
    for mime in document_type.get("mime_types") or []:
        if mime in SAMPLE_TYPES:
            extension = {"application/pdf": "pdf", "image/png": "png"}.get(mime, "jpg")
            name = f"{document_type['code']}.{extension}"
            return SimpleUploadedFile(name, sample_file(mime))
    return None


def _staff(agency: Agency) -> DemoStaff | None:
    members = {
        m.role: m.user
        for m in Membership.objects.filter(agency=agency, is_active=True).select_related("user")
    }
    if Role.AGENT not in members or Role.SUPERVISOR not in members:
        return None
    return DemoStaff(agent=members[Role.AGENT], supervisor=members[Role.SUPERVISOR])


def _advance(application: Application, state: str, citizen: User, staff: DemoStaff) -> None:
    """Move a fresh draft to ``state`` through the workflow service."""

    def step(action: str, actor: User, role: str, **extra: Any) -> None:
        nonlocal application
        application = services.application_transition(
            application_id=application.id,
            action=action,
            actor=actor,
            role=role,
            if_match=application.etag,
            **extra,
        )

    if state == "draft":
        return
    step("submit", citizen, "citizen")
    if state == "submitted":
        return
    step("take", staff.agent, Role.AGENT)
    if state == "info_requested":
        step(
            "request_info",
            staff.agent,
            Role.AGENT,
            reason="Merci de joindre une copie lisible de votre pièce d'identité.",
        )
    elif state == "approved":
        step("approve", staff.agent, Role.AGENT, reason="Dossier complet.")
    elif state == "rejected":
        step(
            "reject",
            staff.agent,
            Role.AGENT,
            reason="L'acte demandé n'a pas été retrouvé dans nos registres.",
        )


def _usable(service: Service) -> dict[str, Any] | None:
    """Answers that the service's form accepts, or None if none could be made."""
    answers = sample_value(service.form_schema)
    if not isinstance(answers, dict) or form_data_errors(service, answers):
        return None
    required = [d for d in service.document_types or [] if d.get("required")]
    if any(_sample_upload(d) is None for d in required):
        return None
    return answers


def _seed_agency(agency: Agency, citizens: Iterable[User]) -> list[str]:
    lines: list[str] = []
    staff = _staff(agency)
    if staff is None:
        return [f"{agency.slug}: no demo agent/supervisor, no demo applications"]
    citizens = list(citizens)
    with schema_context(agency.schema_name):
        if Application.objects.filter(citizen__in=citizens).exists():
            return [f"{agency.slug}: demo applications already there"]
        usable = [(s, a) for s in service_list_published() if (a := _usable(s)) is not None]
        if not usable:
            return [f"{agency.slug}: no published service with a usable form yet"]
        with transaction.atomic():
            for index, state in enumerate(DEMO_STATES):
                for number, citizen in enumerate(citizens):
                    service, answers = usable[(index + number) % len(usable)]
                    application = services.application_create(
                        citizen=citizen, service_code=service.code, form_data=answers
                    )
                    for document_type in service.document_types or []:
                        upload = _sample_upload(document_type)
                        if upload is not None:
                            services.attachment_add(
                                application_id=application.id,
                                citizen=citizen,
                                document_type=document_type["code"],
                                upload=upload,
                            )
                    application.refresh_from_db()
                    _advance(application, state, citizen, staff)
        count = Application.objects.filter(citizen__in=citizens).count()
    lines.append(f"{agency.slug}: {count} demo applications ({', '.join(DEMO_STATES)})")
    return lines


def seed_demo_applications(*, agencies: Iterable[Agency], citizens: Iterable[User]) -> list[str]:
    """Create the demo applications; returns lines for the command to print."""
    citizens = list(citizens)
    lines: list[str] = []
    for agency in agencies:
        lines += _seed_agency(agency, citizens)
    return lines
