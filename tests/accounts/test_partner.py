"""Partner clients: client credentials for short-lived scoped tokens, one agency each."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory

from apps.accounts.authentication import PartnerPrincipal
from apps.accounts.models import PartnerClient
from apps.accounts.permissions import partner_with_scope
from apps.accounts.services import partner_client_create
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/partner-token/"


@pytest.fixture
def partner(agency_a):
    client, secret = partner_client_create(
        name="Banque Atlantique", grants={agency_a: ["certificates:verify", "catalogue:read"]}
    )
    return client, secret


def _form(client: PartnerClient, secret: str, **extra) -> dict:
    return {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": secret,
        **extra,
    }


def test_secret_is_stored_hashed(partner):
    client, secret = partner

    (stored,) = client.secrets.all()
    assert secret not in stored.secret_hash
    assert stored.secret_hash.startswith("argon2")


def test_client_credentials_give_a_token_with_exactly_the_granted_scopes(api, partner, agency_a):
    client, secret = partner

    response = api(HOST_A).post(URL, _form(client, secret))  # form-encoded, as OAuth2 clients do

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] <= 300
    assert body["scope"] == "catalogue:read certificates:verify"
    assert AuditEvent.objects.filter(action="auth.partner_token", outcome="success").exists()


def test_a_narrower_scope_can_be_asked_for(api, partner):
    client, secret = partner

    response = api(HOST_A).post(URL, _form(client, secret, scope="catalogue:read"), format="json")

    assert response.json()["scope"] == "catalogue:read"


def test_a_scope_not_granted_is_refused(api, partner):
    client, secret = partner

    response = api(HOST_A).post(URL, _form(client, secret, scope="applications:submit"))

    body = assert_problem(response, 400, "invalid_scope")
    assert "applications:submit" in body["errors"]["scope"][0]


@pytest.mark.parametrize("case", ["wrong-secret", "unknown-client", "other-agency", "inactive"])
def test_bad_client_credentials_are_401_invalid_client(api, partner, case):
    client, secret = partner
    host = HOST_A
    if case == "wrong-secret":
        secret = "not-the-secret"
    elif case == "unknown-client":
        client = PartnerClient(client_id="pc_unknown")
    elif case == "other-agency":
        host = HOST_B
    else:
        PartnerClient.objects.filter(pk=client.pk).update(is_active=False)

    response = api(host).post(URL, _form(client, secret))

    assert_problem(response, 401, "invalid_client")


def test_unsupported_grant_type_is_400(api, partner):
    client, secret = partner

    response = api(HOST_A).post(URL, {**_form(client, secret), "grant_type": "password"})

    body = assert_problem(response, 400, "validation_failed")
    assert "grant_type" in body["errors"]


def test_partner_token_is_refused_on_another_agency_and_on_person_endpoints(api, partner):
    client, secret = partner
    access = api(HOST_A).post(URL, _form(client, secret)).json()["access_token"]

    assert_problem(api(HOST_B, access).get("/api/v1/me/"), 401, "token_wrong_agency")
    assert_problem(api(HOST_A, access).get("/api/v1/me/"), 403, "permission_denied")
    assert_problem(api(HOST_A, access).get("/api/v1/staff/me/"), 403, "permission_denied")


def test_partner_is_not_on_the_public_host(api, partner):
    client, secret = partner

    assert api("localhost").post(URL, _form(client, secret)).status_code == 404


def test_scope_permission_checks_the_token_scopes():
    request = APIRequestFactory().get("/")
    permission = partner_with_scope("certificates:verify")()
    holder = PartnerPrincipal(
        pk="1", client_id="pc", agency="a", scopes=frozenset({"certificates:verify"})
    )
    other = PartnerPrincipal(
        pk="1", client_id="pc", agency="a", scopes=frozenset({"catalogue:read"})
    )

    request.user, request.auth = holder, {"kind": "partner"}
    assert permission.has_permission(request, None)
    request.user = other
    assert not permission.has_permission(request, None)
    request.user, request.auth = holder, {"kind": "citizen"}
    assert not permission.has_permission(request, None)
