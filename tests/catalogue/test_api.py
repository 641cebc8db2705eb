"""The public catalogue of an agency host: published services, no credentials, cacheable."""

from __future__ import annotations

import json
import re

import pytest
from django.utils.translation import override
from django_tenants.utils import schema_context
from rest_framework.renderers import JSONRenderer

from apps.catalogue.api.serializers import ServiceSummaryOutputSerializer
from apps.catalogue.selectors import service_list_published
from apps.catalogue.services import service_unpublish, service_update
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/v1/services/"
DETAIL = "/api/v1/services/{code}/"


def _cache_headers_are_set(response) -> str:
    assert response["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert "Accept-Language" in response["Vary"]
    etag = response["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)  # strong: no W/ prefix
    return etag


def test_list_shows_published_services_to_anyone(api, agency_a, make_service):
    make_service(agency_a)
    make_service(agency_a, code="certificat-nationalite", name_fr="Certificat de nationalité")
    make_service(agency_a, code="brouillon", is_published=False)

    response = api(HOST_A).get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [s["code"] for s in body["results"]] == [
        "certificat-nationalite",
        "copie-acte-naissance",
    ]
    first = body["results"][1]
    assert first["name"] == "Copie intégrale d'acte de naissance"
    assert first["name_en"] == "Full copy of a birth certificate"
    assert first["fee_xof"] == 500
    assert first["sla_working_days"] == 3
    assert "form_schema" not in first
    _cache_headers_are_set(response)


def test_a_token_is_not_needed_and_a_bad_one_is_ignored(api, agency_a, make_service):
    make_service(agency_a)

    assert api(HOST_A, "not.a.token").get(LIST).status_code == 200


def test_detail_has_the_form_and_documents_in_the_asked_language(api, agency_a, make_service):
    make_service(agency_a)

    french = api(HOST_A).get(DETAIL.format(code="copie-acte-naissance"))
    english = api(HOST_A).get(DETAIL.format(code="copie-acte-naissance"), HTTP_ACCEPT_LANGUAGE="en")

    assert french.status_code == english.status_code == 200
    assert french.json()["name"] == "Copie intégrale d'acte de naissance"
    assert english.json()["name"] == "Full copy of a birth certificate"
    assert french.json()["form_schema"]["properties"]["name"]["title"] == "Nom complet"
    (document,) = french.json()["document_types"]
    assert document["label"] == "Pièce d'identité"
    assert english.json()["document_types"][0]["label"] == "Identity document"
    assert document["mime_types"] == ["application/pdf", "image/jpeg"]
    assert document["max_bytes"] == 2_000_000
    assert document["required"] is True
    assert _cache_headers_are_set(french) != _cache_headers_are_set(english)


def test_if_none_match_gives_304_until_the_service_changes(api, agency_a, make_service):
    service = make_service(agency_a)
    url = DETAIL.format(code=service.code)
    etag = api(HOST_A).get(url)["ETag"]

    again = api(HOST_A).get(url, HTTP_IF_NONE_MATCH=etag)
    weak = api(HOST_A).get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    star = api(HOST_A).get(url, HTTP_IF_NONE_MATCH="*")
    with schema_context(agency_a.schema_name):
        service_update(service=service, changes={"fee_xof": 750})
    changed = api(HOST_A).get(url, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    _cache_headers_are_set(again)
    assert weak.status_code == star.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["fee_xof"] == 750
    assert changed["ETag"] != etag


def test_the_list_etag_follows_the_language_and_the_content(api, agency_a, make_service):
    make_service(agency_a)
    french = api(HOST_A).get(LIST)["ETag"]

    english = api(HOST_A).get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    french_again = api(HOST_A).get(LIST, HTTP_IF_NONE_MATCH=french)
    english_with_french_tag = api(HOST_A).get(
        LIST, HTTP_IF_NONE_MATCH=french, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert english["ETag"] != french
    assert french_again.status_code == 304
    assert english_with_french_tag.status_code == 200


def test_an_unpublished_or_unknown_service_is_404(api, agency_a, make_service):
    service = make_service(agency_a)
    with schema_context(agency_a.schema_name):
        service_unpublish(service=service)

    hidden = api(HOST_A).get(DETAIL.format(code=service.code))
    unknown = api(HOST_A).get(DETAIL.format(code="nexiste-pas"))

    assert_problem(hidden, 404, "service_not_found")
    assert_problem(unknown, 404, "service_not_found")
    assert api(HOST_A).get(LIST).json()["count"] == 0


def test_agency_b_services_are_invisible_on_agency_a_host(api, agency_a, agency_b, make_service):
    make_service(agency_b, code="permis-de-construire", name_fr="Permis de construire")

    listed = api(HOST_A).get(LIST)
    detail = api(HOST_A).get(DETAIL.format(code="permis-de-construire"))

    assert listed.json()["count"] == 0
    assert_problem(detail, 404, "service_not_found")
    assert api(HOST_B).get(DETAIL.format(code="permis-de-construire")).status_code == 200


def test_the_public_host_has_no_agency_catalogue(api):
    assert api(PUBLIC_HOST).get(LIST).status_code == 404


def test_the_list_costs_a_fixed_number_of_queries(
    api, agency_a, make_service, django_assert_max_num_queries
):
    for index in range(30):
        make_service(agency_a, code=f"service-{index:02d}")
    client = api(HOST_A)
    client.get(LIST)  # warm the host -> agency cache

    with django_assert_max_num_queries(3):
        response = client.get(LIST, {"page_size": 30})

    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_list_renders_like_its_documented_serializer(api, agency_a, make_service, language):
    """The list renders values() rows without the serializer: the JSON must not differ."""
    make_service(agency_a)
    make_service(agency_a, code="certificat-nationalite", name_fr="Certificat de nationalité")

    response = api(HOST_A).get(LIST, HTTP_ACCEPT_LANGUAGE=language)

    with schema_context(agency_a.schema_name), override(language):
        instances = list(service_list_published())
        data = ServiceSummaryOutputSerializer(instances, many=True).data
    assert response.json()["results"] == json.loads(JSONRenderer().render(data))
    assert len(response.json()["results"]) == 2
