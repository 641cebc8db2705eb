"""Fixtures of the catalogue tests: a realistic form and a service factory per agency."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.agencies.models import Agency
from apps.catalogue.models import Service
from apps.catalogue.services import service_create

BIRTH_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "Demande de copie d'acte de naissance",
    "properties": {
        "name": {"type": "string", "title": "Nom complet", "minLength": 2, "maxLength": 100},
        "email": {"type": "string", "title": "Courriel", "format": "email"},
        "copies": {"type": "integer", "title": "Nombre de copies", "minimum": 1, "maximum": 5},
        "birth": {
            "type": "object",
            "title": "Naissance",
            "properties": {
                "date": {"type": "string", "title": "Date", "format": "date"},
                "place": {"type": "string", "title": "Lieu"},
            },
            "required": ["date", "place"],
            "additionalProperties": False,
        },
        "purpose": {"enum": ["passeport", "mariage", "autre"], "title": "Motif"},
    },
    "required": ["name", "birth"],
    "additionalProperties": False,
}

PDF_DOCUMENT: dict[str, Any] = {
    "code": "piece-identite",
    "label_fr": "Pièce d'identité",
    "label_en": "Identity document",
    "mime_types": ["application/pdf", "image/jpeg"],
    "max_bytes": 2_000_000,
    "required": True,
}


def birth_form() -> dict[str, Any]:
    """A fresh copy of the sample form (tests may mutate it)."""
    return copy.deepcopy(BIRTH_FORM)


def service_fields(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``service_create`` for a valid service."""
    fields: dict[str, Any] = {
        "code": "copie-acte-naissance",
        "name_fr": "Copie intégrale d'acte de naissance",
        "name_en": "Full copy of a birth certificate",
        "description_fr": "Délivrance d'une copie intégrale de l'acte de naissance.",
        "description_en": "Issue of a full copy of the birth record.",
        "category": "etat-civil",
        "form_schema": birth_form(),
        "document_types": [dict(PDF_DOCUMENT)],
        "fee_xof": 500,
        "sla_working_days": 3,
        "is_published": True,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_service(db: None) -> Callable[..., Service]:
    """``make_service(agency, **overrides)``: a service created through ``service_create``."""

    def make(agency: Agency, **overrides: Any) -> Service:
        with schema_context(agency.schema_name):
            return service_create(**service_fields(**overrides))

    return make
