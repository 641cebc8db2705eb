"""GET /api/v1/catalogue/ on the public host: published services of every active agency."""

from __future__ import annotations

import pytest

from apps.agencies.services import agency_set_active
from apps.directory.search import fold, search_terms
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalogue/"


@pytest.fixture
def catalogue(agency_a, agency_b, make_service):
    """Two agencies, a few realistic services, one draft."""
    make_service(agency_a)  # Copie intégrale d'acte de naissance
    make_service(
        agency_a,
        code="fiche-etat-civil",
        name_fr="Fiche individuelle d'état civil",
        name_en="Individual civil status record",
        description_fr="Fiche d'état civil établie sur présentation du livret de famille.",
        description_en="",
        category="etat-civil",
    )
    make_service(
        agency_b,
        code="certificat-residence",
        name_fr="Certificat de résidence",
        name_en="Residence certificate",
        description_fr="Atteste du domicile dans la commune.",
        category="urbanisme",
    )
    make_service(
        agency_b,
        code="certificat-nationalite",
        name_fr="Certificat de nationalité togolaise",
        name_en="Certificate of Togolese nationality",
        category="nationalite",
        is_published=False,
    )


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [result["code"] for result in response.json()["results"]]


def test_folding_drops_accents_case_and_ligatures():
    assert fold("État CIVIL") == "etat civil"
    assert fold("Cœur Ærien") == "coeur aerien"
    assert search_terms("  état & civil | !  ") == ["etat", "civil"]
    assert search_terms("") == []


@pytest.mark.parametrize(
    "q", ["etat civil", "État Civil", "ETAT-CIVIL", "état", "civil etat", "etat  &  civil |"]
)
def test_accents_and_case_do_not_matter(api, catalogue, q):
    # The birth certificate copy is in the "etat-civil" category: found too, ranked after the
    # service whose name matches.
    assert _codes(api(PUBLIC_HOST).get(URL, {"q": q})) == [
        "fiche-etat-civil",
        "copie-acte-naissance",
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("naissance", ["copie-acte-naissance"], id="word"),
        pytest.param("naiss", ["copie-acte-naissance"], id="prefix-while-typing"),
        pytest.param("fiches", ["fiche-etat-civil"], id="french-plural-stemmed"),
        pytest.param("livret famille", ["fiche-etat-civil"], id="french-description"),
        pytest.param("residence certificate", ["certificat-residence"], id="english-name"),
        pytest.param("domicile", ["certificat-residence"], id="description"),
        pytest.param("urbanisme", ["certificat-residence"], id="category"),
        pytest.param("passeport biometrique", [], id="nothing"),
        pytest.param("nationalite", [], id="draft-never-found"),
    ],
)
def test_search_matches_names_descriptions_and_categories(api, catalogue, q, expected):
    assert _codes(api(PUBLIC_HOST).get(URL, {"q": q})) == expected


def test_results_name_the_agency_and_where_to_apply(api, catalogue):
    response = api(PUBLIC_HOST).get(URL, {"q": "residence"}, HTTP_ACCEPT_LANGUAGE="en")

    (result,) = response.json()["results"]
    assert result["name"] == "Residence certificate"
    assert result["name_fr"] == "Certificat de résidence"
    assert result["agency"] == {"slug": "agence-b", "name": "Agency B", "host": HOST_B}
    assert result["url"] == f"http://{HOST_B}/api/v1/services/certificat-residence/"
    assert result["fee_xof"] == 500


def test_an_empty_query_lists_every_published_service(api, catalogue):
    codes = _codes(api(PUBLIC_HOST).get(URL, {"q": ""}))

    assert sorted(codes) == ["certificat-residence", "copie-acte-naissance", "fiche-etat-civil"]
    assert sorted(_codes(api(PUBLIC_HOST).get(URL))) == sorted(codes)


def test_filters_by_agency_and_category(api, catalogue):
    assert sorted(_codes(api(PUBLIC_HOST).get(URL, {"agency": "agence-a"}))) == [
        "copie-acte-naissance",
        "fiche-etat-civil",
    ]
    assert _codes(api(PUBLIC_HOST).get(URL, {"category": "urbanisme"})) == ["certificat-residence"]


def test_a_deactivated_agency_disappears_from_the_search(api, catalogue, agency_b):
    agency_set_active(agency=agency_b, is_active=False)

    codes = _codes(api(PUBLIC_HOST).get(URL))

    assert "certificat-residence" not in codes
    assert _codes(api(PUBLIC_HOST).get(URL, {"q": "residence"})) == []


def test_results_are_paginated(api, catalogue):
    body = api(PUBLIC_HOST).get(URL, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_an_overlong_query_is_400(api, catalogue):
    response = api(PUBLIC_HOST).get(URL, {"q": "x" * 201})

    body = assert_problem(response, 400, "validation_failed")
    assert "q" in body["errors"]


def test_the_search_is_not_served_on_agency_hosts(api):
    assert api(HOST_A).get(URL).status_code == 404


def test_the_search_costs_the_same_queries_whatever_the_number_of_agencies(
    api, agency_a, agency_b, make_service, django_assert_max_num_queries
):
    for index in range(15):
        make_service(agency_a, code=f"acte-{index:02d}", name_fr=f"Acte d'état civil {index}")
        make_service(agency_b, code=f"acte-{index:02d}", name_fr=f"Acte d'état civil {index}")
    client = api(PUBLIC_HOST)

    # search_path, count, page, domains: no query per agency schema.
    with django_assert_max_num_queries(4):
        response = client.get(URL, {"q": "etat civil", "page_size": 30})

    assert response.json()["count"] == 30
