"""Partner credentials an agency runs itself: created by its admins (staff API and console)
or platform admins (console), secret shown once and stored hashed, rotated with an overlap,
revoked at once, last use shown, audited, never visible from another agency."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from apps.accounts.models import PartnerClient, PartnerSecret, Role
from apps.accounts.partners import partner_client_create
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem, console_sign_in

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/staff/partner-clients/"
PARTNER_TOKEN = "/api/v1/auth/partner-token/"
WEBHOOKS = "/api/v1/webhooks/subscriptions/"


def _exchange(api, client_id: str, secret: str, host: str = HOST_A):
    return api(host).post(
        PARTNER_TOKEN,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


@pytest.fixture
def admin_a(api, tokens, staff_of, agency_a):
    """An API client holding an agency-admin token of agency A."""
    user = staff_of(agency_a, Role.AGENCY_ADMIN)
    return api(HOST_A, tokens(user, TokenKind.STAFF, agency=agency_a, role="agency_admin").access)


@pytest.fixture
def created(admin_a):
    response = admin_a.post(
        CLIENTS, {"name": "Banque Atlantique", "scopes": ["certificates:verify"]}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_agency_admin_creates_a_client_whose_secret_is_shown_once(api, admin_a, created):
    assert re.fullmatch(r"pc_[0-9a-f]{16}", created["client_id"])
    assert created["client_secret"].startswith("pcs_")
    assert created["scopes"] == ["certificates:verify"]
    assert created["agency"] == "agence-a"
    assert created["last_used_at"] is None
    stored = PartnerSecret.objects.get(client_id=created["id"])
    assert created["client_secret"] not in stored.secret_hash
    assert stored.secret_hash.startswith("argon2")
    # Never again: neither the list nor the detail shows it.
    assert "client_secret" not in admin_a.get(CLIENTS).json()["results"][0]
    assert "client_secret" not in admin_a.get(f"{CLIENTS}{created['id']}/").json()
    assert AuditEvent.objects.filter(
        action="partner_client.created", target_id=created["id"], actor_role="agency_admin"
    ).exists()
    # The credentials work, and the last use is shown.
    token = _exchange(api, created["client_id"], created["client_secret"])
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == "certificates:verify"
    assert admin_a.get(f"{CLIENTS}{created['id']}/").json()["last_used_at"] is not None


def test_two_clients_get_two_ids(admin_a, created):
    second = admin_a.post(CLIENTS, {"name": "Autre", "scopes": ["catalogue:read"]}, format="json")

    assert second.status_code == 201, second.content
    assert second.json()["client_id"] != created["client_id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "X", "scopes": ["certificates:verify", "everything:all"]}, "unknown_scope"),
        ({"name": "X", "scopes": []}, "validation_failed"),
        ({"name": "  ", "scopes": ["catalogue:read"]}, "validation_failed"),
        ({"name": "X", "scopes": ["catalogue:read"], "agency": "agence-b"}, "unknown_field"),
    ],
)
def test_bad_input_creates_nothing(admin_a, body, code):
    before = PartnerClient.objects.count()

    response = admin_a.post(CLIENTS, body, format="json")

    problem = assert_problem(response, 400, code)
    if code == "unknown_scope":
        assert "everything:all" in problem["errors"]["scopes"][0]
    assert PartnerClient.objects.count() == before


def test_rotation_keeps_the_old_secret_working_until_the_overlap_ends(api, admin_a, created):
    old = created["client_secret"]

    rotated = admin_a.post(
        f"{CLIENTS}{created['id']}/rotate-secret/", {"overlap_seconds": 3600}, format="json"
    )

    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["client_secret"]
    assert new != old
    ends = dt.datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
    assert abs((ends - timezone.now()).total_seconds() - 3600) < 60
    assert _exchange(api, created["client_id"], old).status_code == 200
    assert _exchange(api, created["client_id"], new).status_code == 200
    # The overlap ends: only the new secret works.
    PartnerSecret.objects.filter(client_id=created["id"], expires_at__isnull=False).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert_problem(_exchange(api, created["client_id"], old), 401, "invalid_client")
    assert _exchange(api, created["client_id"], new).status_code == 200
    assert AuditEvent.objects.filter(
        action="partner_client.secret_rotated", target_id=created["id"]
    ).exists()


def test_a_rotation_without_overlap_ends_the_old_secret_at_once(api, admin_a, created):
    admin_a.post(f"{CLIENTS}{created['id']}/rotate-secret/", {"overlap_seconds": 0}, format="json")

    assert_problem(
        _exchange(api, created["client_id"], created["client_secret"]), 401, "invalid_client"
    )


def test_revocation_refuses_the_secret_and_ends_tokens_at_once(api, admin_a):
    created = admin_a.post(
        CLIENTS, {"name": "Banque", "scopes": ["webhooks:manage"]}, format="json"
    ).json()
    access = _exchange(api, created["client_id"], created["client_secret"]).json()["access_token"]
    assert api(HOST_A, access).get(WEBHOOKS).status_code == 200

    revoked = admin_a.post(f"{CLIENTS}{created['id']}/revoke/")

    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["is_active"] is False
    assert revoked.json()["revoked_at"] is not None
    assert_problem(api(HOST_A, access).get(WEBHOOKS), 401, "token_revoked")
    assert_problem(
        _exchange(api, created["client_id"], created["client_secret"]), 401, "invalid_client"
    )
    assert (
        AuditEvent.objects.filter(action="partner_client.revoked", target_id=created["id"]).count()
        == 1
    )
    # Twice is harmless (and audited once).
    assert admin_a.post(f"{CLIENTS}{created['id']}/revoke/").status_code == 200
    assert (
        AuditEvent.objects.filter(action="partner_client.revoked", target_id=created["id"]).count()
        == 1
    )


def test_a_revoked_client_cannot_be_rotated(admin_a, created):
    admin_a.post(f"{CLIENTS}{created['id']}/revoke/")
    secrets_before = PartnerSecret.objects.filter(client_id=created["id"]).count()

    response = admin_a.post(f"{CLIENTS}{created['id']}/rotate-secret/", {}, format="json")

    assert_problem(response, 409, "partner_client_revoked")
    assert PartnerSecret.objects.filter(client_id=created["id"]).count() == secrets_before


def test_another_agencys_client_does_not_exist_here(api, tokens, staff_of, agency_b, created):
    admin_b = staff_of(agency_b, Role.AGENCY_ADMIN)
    client_b = api(
        HOST_B, tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
    )
    base = f"{CLIENTS}{created['id']}/"

    assert client_b.get(CLIENTS).json()["results"] == []
    assert_problem(client_b.get(base), 404, "not_found")
    assert_problem(client_b.post(f"{base}rotate-secret/", {}, format="json"), 404, "not_found")
    assert_problem(client_b.post(f"{base}revoke/"), 404, "not_found")
    assert PartnerClient.objects.get(id=created["id"]).is_active


@pytest.mark.parametrize("who", ["anonymous", "citizen", "agent", "other-agency-admin"])
def test_only_this_agencys_admins_may_manage_partners(
    api, tokens, staff_of, citizen, agency_a, agency_b, who
):
    if who == "anonymous":
        caller, status = api(HOST_A), 401
    elif who == "citizen":
        caller, status = api(HOST_A, tokens(citizen).access), 403
    elif who == "agent":
        agent = staff_of(agency_a, Role.AGENT)
        caller, status = (
            api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent").access),
            403,
        )
    else:
        other = staff_of(agency_b, Role.AGENCY_ADMIN)
        token = tokens(other, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
        caller, status = api(HOST_A, token), 401  # a token of agency B on agency A's host

    assert caller.get(CLIENTS).status_code == status
    assert (
        caller.post(CLIENTS, {"name": "X", "scopes": ["catalogue:read"]}, format="json").status_code
        == status
    )
    assert not PartnerClient.objects.filter(name="X").exists()


def test_the_list_has_a_query_budget(admin_a, agency_a, django_assert_max_num_queries):
    for n in range(5):
        partner_client_create(name=f"P{n}", grants={agency_a: ["catalogue:read"]})

    with django_assert_max_num_queries(8):
        response = admin_a.get(CLIENTS)

    assert response.json()["count"] == 5
    assert len(response.json()["results"]) == 5


# --- the console -------------------------------------------------------------------------------


def _console(client, user, host: str):
    response = console_sign_in(client, user.email, PASSWORD, user=user, host=host)
    assert response.status_code == 302, response.content
    return client


ADD = "/admin/accounts/partnerclient/add/"
LIST = "/admin/accounts/partnerclient/"


def test_a_platform_admin_creates_two_clients_in_the_console_each_with_its_secret_once(
    client, platform_admin, agency_a, api
):
    _console(client, platform_admin, PUBLIC_HOST)
    shown = []
    for name in ("Banque Une", "Banque Deux"):
        response = client.post(
            ADD,
            {"name": name, "agency": str(agency_a.pk), "scopes": ["catalogue:read"]},
            HTTP_HOST=PUBLIC_HOST,
        )
        assert response.status_code == 200, response.content
        assert "no-store" in response["Cache-Control"]
        page = response.content.decode()
        client_id = re.search(r'id="client-id">([^<]+)<', page).group(1)
        secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
        shown.append((client_id, secret))

    assert shown[0][0] != shown[1][0]
    for client_id, secret in shown:
        assert re.fullmatch(r"pc_[0-9a-f]{16}", client_id)
        assert _exchange(api, client_id, secret).status_code == 200
    listing = client.get(LIST, HTTP_HOST=PUBLIC_HOST).content.decode()
    assert shown[0][0] in listing
    assert shown[0][1] not in listing
    assert shown[1][1] not in listing
    assert (
        AuditEvent.objects.filter(
            action="partner_client.created", actor_role="platform_admin"
        ).count()
        == 2
    )


def test_the_console_refuses_an_unknown_scope_and_stores_nothing(client, platform_admin, agency_a):
    _console(client, platform_admin, PUBLIC_HOST)
    before = PartnerClient.objects.count()

    response = client.post(
        ADD,
        {"name": "X", "agency": str(agency_a.pk), "scopes": ["everything:all"]},
        HTTP_HOST=PUBLIC_HOST,
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert PartnerClient.objects.count() == before


def test_an_agency_admin_console_sees_and_creates_only_its_agencys_clients(
    client, staff_of, agency_a, agency_b
):
    other = partner_client_create(name="Client de B", grants={agency_b: ["catalogue:read"]})[0]
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    _console(client, admin, HOST_A)

    response = client.post(
        ADD,
        # A forged agency field is ignored: the host's agency is the only one offered.
        {"name": "Banque", "agency": str(agency_b.pk), "scopes": ["certificates:verify"]},
        HTTP_HOST=HOST_A,
    )

    assert response.status_code == 200, response.content
    created = PartnerClient.objects.get(name="Banque")
    assert created.agency == agency_a
    listing = client.get(LIST, HTTP_HOST=HOST_A).content.decode()
    assert "Banque" in listing
    assert other.client_id not in listing
    assert client.get(f"{LIST}{other.pk}/change/", HTTP_HOST=HOST_A).status_code in (302, 404)


def test_an_agent_has_no_partner_console(client, staff_of, agency_a):
    agent = staff_of(agency_a, Role.AGENT)
    _console(client, agent, HOST_A)

    assert client.get(LIST, HTTP_HOST=HOST_A).status_code == 403
    assert (
        client.post(ADD, {"name": "X", "scopes": ["catalogue:read"]}, HTTP_HOST=HOST_A).status_code
        == 403
    )
    assert not PartnerClient.objects.filter(name="X").exists()


def test_console_actions_rotate_with_the_new_secret_shown_and_revoke(
    client, platform_admin, agency_a, api
):
    partner, old = partner_client_create(name="Banque", grants={agency_a: ["catalogue:read"]})
    _console(client, platform_admin, PUBLIC_HOST)

    rotated = client.post(
        LIST,
        {"action": "rotate_secret", "_selected_action": [str(partner.pk)]},
        HTTP_HOST=PUBLIC_HOST,
    )

    assert rotated.status_code == 200
    new = re.search(r'id="client-secret">([^<]+)<', rotated.content.decode()).group(1)
    assert new != old
    assert _exchange(api, partner.client_id, old).status_code == 200  # overlap: both work
    assert _exchange(api, partner.client_id, new).status_code == 200

    revoked = client.post(
        LIST, {"action": "revoke", "_selected_action": [str(partner.pk)]}, HTTP_HOST=PUBLIC_HOST
    )
    assert revoked.status_code == 302
    assert_problem(_exchange(api, partner.client_id, new), 401, "invalid_client")

    again = client.post(
        LIST,
        {"action": "rotate_secret", "_selected_action": [str(partner.pk)]},
        HTTP_HOST=PUBLIC_HOST,
        follow=True,
    )
    assert "revoked" in again.content.decode().lower() or "révoqué" in again.content.decode()
    assert PartnerSecret.objects.filter(client=partner).count() == 2


def test_the_console_rotates_one_client_at_a_time(client, platform_admin, agency_a):
    first = partner_client_create(name="Un", grants={agency_a: ["catalogue:read"]})[0]
    second = partner_client_create(name="Deux", grants={agency_a: ["catalogue:read"]})[0]
    _console(client, platform_admin, PUBLIC_HOST)

    response = client.post(
        LIST,
        {"action": "rotate_secret", "_selected_action": [str(first.pk), str(second.pk)]},
        HTTP_HOST=PUBLIC_HOST,
        follow=True,
    )

    assert response.status_code == 200
    assert PartnerSecret.objects.filter(client__in=[first, second]).count() == 2


@pytest.mark.parametrize("case", ["blank-name", "two-agencies"])
def test_the_service_refuses_a_nameless_or_multi_agency_client(agency_a, agency_b, case):
    grants = {agency_a: ["catalogue:read"]}
    name = "  " if case == "blank-name" else "X"
    if case == "two-agencies":
        grants[agency_b] = ["catalogue:read"]
    before = PartnerClient.objects.count()

    with pytest.raises(InvalidInput):
        partner_client_create(name=name, grants=grants)

    assert PartnerClient.objects.count() == before
