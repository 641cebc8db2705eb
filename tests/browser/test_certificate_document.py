"""An agency admin edits a service's certificate document in the console, with its preview."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.catalogue import services as catalogue
from apps.catalogue.demo import BIRTH_CERTIFICATE_COPY, DEMO_DOCUMENTS
from apps.catalogue.models import DocumentDefinition
from tests.conftest import HOST_A

pytestmark = pytest.mark.django_db


def test_the_agency_admin_previews_and_saves_a_document_definition(
    page: Any, live_url: Any, console_login: Any, staff_of: Any, agency_a: Any
) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed: the preview is not an image")
    with schema_context("agence_a"):
        service = catalogue.service_create(**BIRTH_CERTIFICATE_COPY, is_published=True)
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    console_login(page, admin, HOST_A)

    page.goto(live_url(HOST_A, f"/admin/catalogue/service/{service.pk}/document/"))
    first = page.locator("img[alt='Aperçu du document']").get_attribute("src")
    definition = {**DEMO_DOCUMENTS["copie-acte-naissance"], "title_fr": "Extrait d'acte"}
    page.fill("textarea[name=definition]", json.dumps(definition, ensure_ascii=False))
    page.click("input[name=preview]")
    second = page.locator("img[alt='Aperçu du document']").get_attribute("src")
    page.click("input[name=save]")
    message = page.locator("ul.messagelist").inner_text()

    assert first is not None
    assert first.startswith("data:image/png;base64,")
    assert second is not None
    assert second != first  # the preview follows the edit
    assert "Définition du document enregistrée (version 1)" in message
    with schema_context("agence_a"):
        [saved] = DocumentDefinition.objects.filter(service=service)
    assert saved.definition["title_fr"] == "Extrait d'acte"
