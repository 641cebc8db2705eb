"""Platform administrators manage agencies; agency creation clones the template schema."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_exists

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.agencies.models import Agency
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/platform/agencies/"


@pytest.fixture
def admin_token(platform_admin, tokens):
    return tokens(platform_admin, TokenKind.PLATFORM).access


def test_list_shows_agencies_but_not_the_public_schema(api, admin_token, agency_a, agency_b):
    response = api(PUBLIC_HOST, admin_token).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [a["slug"] for a in body["results"]] == ["agence-a", "agence-b"]
    assert body["results"][0]["domains"] == [HOST_A]


def test_create_clones_the_template_and_the_new_host_answers(api, admin_token):
    response = api(PUBLIC_HOST, admin_token).post(
        URL,
        {"slug": "impots", "name_fr": "Direction des impôts", "name_en": "Tax Office"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["schema_name"] == "impots"
    assert body["domains"] == ["impots.localhost"]
    assert schema_exists("impots")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'impots' "
            "AND table_name = 'audit_auditevent'"
        )
        assert cursor.fetchone()[0] == 1
    assert api("impots.localhost").get("/healthz").status_code == 200
    assert AuditEvent.objects.filter(action="agency.created", target_id=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"slug": "agence-a", "name_fr": "x", "name_en": "x"}, 409, "agency_exists"),
        (
            {"slug": "nouvelle", "name_fr": "x", "name_en": "x", "domain": HOST_A},
            409,
            "domain_taken",
        ),
        (
            {"slug": "nouvelle", "name_fr": "x", "name_en": "x", "domain": "localhost"},
            400,
            "validation_failed",
        ),
        ({"slug": "Bad_Slug", "name_fr": "x", "name_en": "x"}, 400, "validation_failed"),
        ({"slug": "ok", "name_fr": "x"}, 400, "validation_failed"),
        (
            {"slug": "ok", "name_fr": "x", "name_en": "x", "schema_name": "public"},
            400,
            "unknown_field",
        ),
    ],
)
def test_bad_creation_is_refused_and_creates_nothing(api, admin_token, payload, status, code):
    count = Agency.objects.count()

    assert_problem(api(PUBLIC_HOST, admin_token).post(URL, payload, format="json"), status, code)

    assert Agency.objects.count() == count
    assert not schema_exists("nouvelle")


def test_deactivation_closes_the_agency_hosts_and_console(api, admin_token, agency_a):
    response = api(PUBLIC_HOST, admin_token).post(f"{URL}agence-a/deactivate/")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_problem(api(HOST_A).get("/healthz"), 404, "agency_not_found")
    assert_problem(api(HOST_A).get("/admin/login/"), 404, "agency_not_found")
    assert AuditEvent.objects.filter(action="agency.deactivated").exists()

    again = api(PUBLIC_HOST, admin_token).post(f"{URL}agence-a/activate/")
    assert again.json()["is_active"] is True
    assert api(HOST_A).get("/healthz").status_code == 200


def test_deactivating_twice_is_harmless(api, admin_token, agency_a):
    api(PUBLIC_HOST, admin_token).post(f"{URL}agence-a/deactivate/")
    before = AuditEvent.objects.count()

    response = api(PUBLIC_HOST, admin_token).post(f"{URL}agence-a/deactivate/")

    assert response.status_code == 200
    assert AuditEvent.objects.count() == before


def test_retrieve_and_unknown_agency(api, admin_token):
    assert api(PUBLIC_HOST, admin_token).get(f"{URL}agence-b/").json()["slug"] == "agence-b"
    assert_problem(api(PUBLIC_HOST, admin_token).get(f"{URL}nope/"), 404, "agency_not_found")
    assert_problem(
        api(PUBLIC_HOST, admin_token).post(f"{URL}nope/deactivate/"), 404, "agency_not_found"
    )


def test_permission_matrix(api, agency_a, citizen, staff_of, platform_admin, tokens):
    agent = staff_of(agency_a, Role.AGENCY_ADMIN)
    callers = {
        "anonymous": (None, 401),
        "citizen": (tokens(citizen).access, 403),
        "platform admin with a citizen token": (tokens(platform_admin).access, 403),
        "staff of an agency": (
            tokens(agent, TokenKind.STAFF, agency=agency_a, role="agency_admin").access,
            401,
        ),
        "platform admin": (tokens(platform_admin, TokenKind.PLATFORM).access, 200),
    }
    for name, (token, status) in callers.items():
        assert api(PUBLIC_HOST, token).get(URL).status_code == status, name


def test_platform_api_is_not_served_on_agency_hosts(api, admin_token):
    assert api(HOST_A, admin_token).get(URL).status_code in (401, 404)


@pytest.fixture
def rows_only_role(db):
    """The connection acts as a role that reads and writes rows only, as in production.

    CREATE ROLE is transactional: the test's rollback removes it.
    """
    name = f"guichet_rows_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN')
        cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{name}"')
        cursor.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{name}"'
        )
        cursor.execute(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{name}"')
        cursor.execute(f'SET ROLE "{name}"')
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_creation_through_a_rows_only_role_is_refused_and_creates_nothing(
    api, admin_token, rows_only_role
):
    response = api(PUBLIC_HOST, admin_token).post(
        URL, {"slug": "impots", "name_fr": "Impôts", "name_en": "Tax"}, format="json"
    )

    body = assert_problem(response, 403, "agency_creation_needs_owner")
    assert "create_agency" in body["detail"]
    assert "exploitant" in body["detail"]  # French first
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert not Agency.objects.filter(slug="impots").exists()
    assert not schema_exists("impots")
