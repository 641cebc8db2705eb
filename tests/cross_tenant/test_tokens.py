"""No token issued for agency A opens anything of agency B."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind
from tests.conftest import HOST_A, HOST_B

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_staff_role_of_a_is_refused_on_b(api, agency_a, staff_of, tokens, role):
    user = staff_of(agency_a, role)
    issued = tokens(user, TokenKind.STAFF, agency=agency_a, role=role)

    for path in ("/api/v1/staff/me/", "/api/v1/me/"):
        response = api(HOST_B, issued.access).get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "token_wrong_agency"
    refresh = api(HOST_B).post("/api/v1/auth/token/refresh/", {"refresh": issued.refresh})
    assert refresh.status_code == 401


def test_partner_token_of_a_is_refused_on_b(api, agency_a):
    client, secret = partner_client_create(name="P", grants={agency_a: ["catalogue:read"]})
    access = (
        api(HOST_A)
        .post(
            "/api/v1/auth/partner-token/",
            {
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": secret,
            },
        )
        .json()["access_token"]
    )

    assert api(HOST_B, access).get("/api/v1/staff/me/").json()["code"] == "token_wrong_agency"
