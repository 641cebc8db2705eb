"""Each service defines its document: validated, versioned, edited in the console with a
preview; the right holder; the agency's seal validated."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django_tenants.utils import schema_context
from PIL import Image

from apps.accounts.models import Role
from apps.applications.demo import sample_value
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.catalogue import services as catalogue
from apps.catalogue.demo import BIRTH_CERTIFICATE_COPY, DEMO_DOCUMENTS
from apps.catalogue.documents import definition_errors
from apps.catalogue.models import DocumentDefinition, Service
from apps.certificates.branding import document_settings_save, seal_validate
from apps.certificates.demo import demo_seal
from apps.certificates.models import DocumentSettings
from apps.certificates.services import certificate_issue, certificate_resign
from apps.core.errors import InvalidInput
from tests.conftest import HOST_A, HOST_B
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

BIRTH = BIRTH_CERTIFICATE_COPY
FORM = BIRTH["form_schema"]
DEFINITION = DEMO_DOCUMENTS["copie-acte-naissance"]


@pytest.fixture
def birth_service(agency_a) -> Service:
    with schema_context("agence_a"):
        return catalogue.service_create(**BIRTH, is_published=True)


def _approved(service: Service, citizen, answers: dict, number: int = 1) -> Application:
    with schema_context("agence_a"):
        return Application.objects.create(
            service=service,
            citizen=citizen,
            status="approved",
            reference=f"AA-2026-{number:06d}",
            form_data=answers,
            submitted_at=timezone.now() - timedelta(days=2),
            decided_at=timezone.now(),
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"blocks": []}, "blocks must list"),
        ({"blocks": [{"field": "nope", "label_fr": "a", "label_en": "b"}]}, "no answer nope"),
        ({"blocks": [{"field": "nom", "label_fr": "a"}]}, "label_en is required"),
        ({"blocks": [{"field": "nom", "label_fr": "a", "label_en": "b", "format": "x"}]}, "format"),
        ({"blocks": [{"text_fr": "seulement"}]}, "text_fr and text_en"),
        ({"holder": ["inconnu"]}, "holder: the form has no answer inconnu"),
        ({"requester_relation": {"field": "nope"}}, "requester_relation"),
        ({"template": "{{ evil }}"}, "Unknown keys: template"),
    ],
)
def test_bad_definitions_are_refused_with_what_is_wrong(change, message):
    with translation.override("en"):
        assert any(message in error for error in definition_errors({**DEFINITION, **change}, FORM))


def test_the_demo_definitions_are_valid():
    from apps.catalogue.demo import DEMO_SERVICES

    for services in DEMO_SERVICES.values():
        for service in services:
            assert definition_errors(DEMO_DOCUMENTS[service["code"]], service["form_schema"]) == []


def test_saving_makes_versions_and_a_certificate_keeps_its_version(
    birth_service, citizen, media_root
):
    with schema_context("agence_a"):
        first = catalogue.document_definition_save(service=birth_service, definition=DEFINITION)
        again = catalogue.document_definition_save(service=birth_service, definition=DEFINITION)
        with pytest.raises(InvalidInput):
            catalogue.document_definition_save(service=birth_service, definition={"blocks": []})
    assert first.pk == again.pk
    assert first.version == 1
    application = _approved(birth_service, citizen, sample_value(FORM))
    with schema_context("agence_a"):
        certificate = certificate_issue(application_id=application.pk)
        changed = {**DEFINITION, "title_fr": "Extrait d'acte de naissance"}
        second = catalogue.document_definition_save(service=birth_service, definition=changed)
        assert DocumentDefinition.objects.filter(service=birth_service).count() == 2
        assert AuditEvent.objects.filter(action="service.document_defined").count() == 2
        resigned = certificate_resign(certificate_id=certificate.pk)
    assert second.version == 2
    assert certificate.definition_id == first.pk
    assert resigned.content["title"] == "Copie intégrale d'acte de naissance"
    assert resigned.content_sha256 == certificate.content_sha256


def test_the_document_is_about_the_child_and_names_the_mother_who_asked(
    birth_service, citizen, media_root
):
    import pypdf

    citizen.first_name, citizen.last_name = "Afi", "Mensah"
    citizen.save(update_fields=["first_name", "last_name"])
    with schema_context("agence_a"):
        catalogue.document_definition_save(service=birth_service, definition=DEFINITION)
    answers = {**sample_value(FORM), "lien_demandeur": "mere"}
    application = _approved(birth_service, citizen, answers)
    with schema_context("agence_a"):
        certificate = certificate_issue(application_id=application.pk)
    text = " ".join(
        pypdf.PdfReader(media_root / certificate.file_path).pages[0].extract_text().split()
    )

    assert certificate.holder_name == "Kossi Elom MENSAH"
    assert certificate.requester_name == "Afi Mensah"
    assert certificate.citizen_id == citizen.pk  # the mother's account downloads it
    assert "Kossi Elom MENSAH" in text
    assert "Demandé par" in text
    for expected in ("0456/2019", "2 juin 2019", "MENSAH Koffi", "MENSAH Afi", "Lomé"):
        assert expected in text


def test_a_holder_asking_for_themselves_is_not_printed_twice(birth_service, citizen, media_root):
    answers = {**sample_value(FORM), "lien_demandeur": "titulaire"}
    with schema_context("agence_a"):
        catalogue.document_definition_save(service=birth_service, definition=DEFINITION)
    application = _approved(birth_service, citizen, answers)
    with schema_context("agence_a"):
        certificate = certificate_issue(application_id=application.pk)
    assert certificate.requester_name == ""
    assert certificate.content["requester"] == ""


def test_an_english_speaking_citizen_gets_the_english_document(birth_service, citizen, media_root):
    import pypdf

    citizen.preferred_language = "en"
    citizen.save(update_fields=["preferred_language"])
    with schema_context("agence_a"):
        catalogue.document_definition_save(service=birth_service, definition=DEFINITION)
    application = _approved(birth_service, citizen, sample_value(FORM))
    with schema_context("agence_a"):
        certificate = certificate_issue(application_id=application.pk)
    text = pypdf.PdfReader(media_root / certificate.file_path).pages[0].extract_text()
    assert certificate.language == "en"
    assert "Full copy of a birth certificate" in text
    assert "Date of birth" in text
    assert "2 June 2019" in text


def _png(size: tuple[int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 106, 78)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image at all", "not a readable image"),
        (_png((10, 10)), "between 64 and 2000"),
        (_png((3000, 100)), "between 64 and 2000"),
        (_png((100, 100), "GIF"), "PNG or JPEG"),
        (b"\x89PNG" + b"0" * (1024 * 1024 + 1), "larger than 1 MB"),
    ],
)
def test_bad_seals_are_refused(data, message):
    with translation.override("en"), pytest.raises(InvalidInput) as error:
        seal_validate(data)
    assert message in str(error.value.errors["seal"][0])


def test_a_seal_is_stored_under_the_agency_prefix_and_printed(agency_a, certificate, media_root):
    with schema_context("agence_a"):
        settings_row = document_settings_save(
            changes={"signatory_name": "Komlan AGBODJAN"}, seal=demo_seal()
        )
        assert AuditEvent.objects.filter(action="certificates.settings_changed").exists()
    assert settings_row.seal_path.startswith("agence_a/branding/seal-")
    assert (media_root / settings_row.seal_path).exists()
    assert Image.open(media_root / settings_row.seal_path).format == "PNG"


@pytest.fixture
def console(client, agency_a, staff_of):
    def make(role: str, agency=None, host: str = HOST_A):
        user = staff_of(agency or agency_a, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return client

    return make


def test_the_agency_admin_edits_the_document_with_a_live_preview(console, birth_service):
    import json

    client = console(Role.AGENCY_ADMIN)
    url = f"/admin/catalogue/service/{birth_service.pk}/document/"

    page = client.get(url)
    bad = client.post(url, {"definition": json.dumps({"blocks": []}), "language": "fr", "save": 1})
    preview = client.post(
        url, {"definition": json.dumps(DEFINITION), "language": "en", "preview": 1}
    )
    saved = client.post(url, {"definition": json.dumps(DEFINITION), "language": "fr", "save": 1})

    assert page.status_code == 200
    assert bad.status_code == 200
    assert "blocks doit lister" in bad.content.decode()
    assert preview.status_code == 200
    marker = "data:image/png;base64," if shutil.which("pdftoppm") else "data:application/pdf"
    assert marker in preview.content.decode()
    assert saved.status_code == 302
    with schema_context("agence_a"):
        [version] = DocumentDefinition.objects.filter(service=birth_service)
    assert version.definition == DEFINITION


def test_other_roles_read_the_editor_but_cannot_save(console, birth_service):
    import json

    client = console(Role.AGENT)
    url = f"/admin/catalogue/service/{birth_service.pk}/document/"
    assert client.get(url).status_code == 200
    denied = client.post(url, {"definition": json.dumps(DEFINITION), "language": "fr", "save": 1})
    assert denied.status_code == 403
    with schema_context("agence_a"):
        assert not DocumentDefinition.objects.exists()


def test_another_agency_cannot_reach_the_editor(console, birth_service, agency_b):
    client = console(Role.AGENCY_ADMIN, agency=agency_b, host=HOST_B)
    response = client.get(f"/admin/catalogue/service/{birth_service.pk}/document/")
    assert response.status_code == 404


def test_the_agency_admin_uploads_a_seal_in_the_console(console, media_root):
    client = console(Role.AGENCY_ADMIN)
    url = "/admin/certificates/documentsettings/add/"
    fields = {
        "signatory_name": "Komlan AGBODJAN",
        "signatory_title_fr": "L'Officier de l'état civil",
        "signatory_title_en": "The Civil Registrar",
        "place_of_issue": "Lomé",
    }
    refused = client.post(
        url, {**fields, "seal_upload": SimpleUploadedFile("s.png", _png((10, 10)))}
    )
    accepted = client.post(url, {**fields, "seal_upload": SimpleUploadedFile("s.png", demo_seal())})

    assert refused.status_code == 200
    assert "entre 64 et 2000" in refused.content.decode()
    assert accepted.status_code == 302
    with schema_context("agence_a"):
        row = DocumentSettings.objects.get()
    assert row.signatory_name == "Komlan AGBODJAN"
    assert row.seal_path.startswith("agence_a/branding/")
