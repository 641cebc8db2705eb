"""Agency admins manage their own staff (role, suspension, end, password reset) through the
staff API; platform admins every agency's. Sessions end at once; nothing crosses agencies."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/staff/people/"
PLATFORM_PEOPLE = "/api/v1/platform/people/"
STAFF_ME = "/api/v1/staff/me/"
REFRESH = "/api/v1/auth/token/refresh/"


@pytest.fixture
def admin_a_user(staff_of, agency_a):
    return staff_of(agency_a, Role.AGENCY_ADMIN)


@pytest.fixture
def admin_a(api, tokens, admin_a_user, agency_a):
    token = tokens(admin_a_user, TokenKind.STAFF, agency=agency_a, role="agency_admin").access
    return api(HOST_A, token)


@pytest.fixture
def agent(staff_of, agency_a):
    user = staff_of(agency_a, Role.AGENT)
    return Membership.objects.get(user=user, agency=agency_a)


def _events(action: str, schema: str = "agence_a") -> list[AuditEvent]:
    with schema_context(schema):
        return list(AuditEvent.objects.filter(action=action))


def test_the_admin_lists_only_this_agencys_people(admin_a, agent, staff_of, agency_b):
    staff_of(agency_b, Role.AGENT)

    response = admin_a.get(PEOPLE)

    assert response.status_code == 200, response.content
    ids = {row["id"] for row in response.json()["results"]}
    assert str(agent.pk) in ids
    assert all(row["agency"] == "agence-a" for row in response.json()["results"])
    assert response.json()["count"] == 2  # the admin and the agent
    only_agents = admin_a.get(PEOPLE, {"role": "agent"}).json()
    assert [row["id"] for row in only_agents["results"]] == [str(agent.pk)]


def test_suspension_ends_every_session_at_once(api, tokens, admin_a, agent, agency_a):
    session = tokens(agent.user, TokenKind.STAFF, agency=agency_a, role="agent")
    assert api(HOST_A, session.access).get(STAFF_ME).status_code == 200

    response = admin_a.post(f"{PEOPLE}{agent.pk}/suspend/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"
    # The access token in hand stops working, and the refresh token cannot renew it.
    assert_problem(api(HOST_A, session.access).get(STAFF_ME), 401, "token_revoked")
    assert api(HOST_A).post(REFRESH, {"refresh": session.refresh}).status_code == 401
    signed_in = api(HOST_A).post(
        "/api/v1/auth/token/",
        {"login": agent.user.email, "password": PASSWORD, "portal": "staff"},
    )
    assert_problem(signed_in, 403, "not_agency_staff")
    [event] = _events("membership.suspended")
    assert (event.target_id, event.actor_role) == (str(agent.pk), "agency_admin")


def test_reactivation_lets_the_person_back_in(api, admin_a, agent):
    admin_a.post(f"{PEOPLE}{agent.pk}/suspend/")

    response = admin_a.post(f"{PEOPLE}{agent.pk}/reactivate/")

    assert response.json()["status"] == "active"
    assert _events("membership.reactivated")


def test_a_role_change_ends_sessions_that_name_the_old_role(api, tokens, admin_a, agent, agency_a):
    session = tokens(agent.user, TokenKind.STAFF, agency=agency_a, role="agent")

    response = admin_a.post(f"{PEOPLE}{agent.pk}/role/", {"role": "supervisor"})

    assert response.status_code == 200, response.content
    assert response.json()["role"] == "supervisor"
    assert_problem(api(HOST_A, session.access).get(STAFF_ME), 401, "token_revoked")
    [event] = _events("membership.role_changed")
    assert event.changes["role"] == {"old": "agent", "new": "supervisor"}


def test_ending_a_membership(api, tokens, admin_a, agent, agency_a):
    session = tokens(agent.user, TokenKind.STAFF, agency=agency_a, role="agent")

    response = admin_a.post(f"{PEOPLE}{agent.pk}/end/")

    assert response.json()["status"] == "ended"
    assert response.json()["ended_at"] is not None
    assert_problem(api(HOST_A, session.access).get(STAFF_ME), 401, "token_revoked")
    # Ended is ended: no reactivation (a new invitation reopens it).
    assert_problem(admin_a.post(f"{PEOPLE}{agent.pk}/reactivate/"), 409, "membership_ended")
    assert_problem(admin_a.post(f"{PEOPLE}{agent.pk}/suspend/"), 409, "membership_ended")
    assert_problem(
        admin_a.post(f"{PEOPLE}{agent.pk}/role/", {"role": "supervisor"}), 409, "membership_ended"
    )
    assert len(_events("membership.ended")) == 1


def test_an_admin_cannot_suspend_or_demote_themselves(admin_a, admin_a_user, agency_a):
    mine = Membership.objects.get(user=admin_a_user, agency=agency_a)

    assert_problem(admin_a.post(f"{PEOPLE}{mine.pk}/suspend/"), 409, "own_membership")
    assert_problem(
        admin_a.post(f"{PEOPLE}{mine.pk}/role/", {"role": "agent"}), 409, "own_membership"
    )
    mine.refresh_from_db()
    assert (mine.is_active, mine.role) == (True, Role.AGENCY_ADMIN)


def test_the_last_agency_admin_stays(api, tokens, platform_admin, admin_a_user, agency_a):
    platform = api(PUBLIC_HOST, tokens(platform_admin, TokenKind.PLATFORM).access)
    mine = Membership.objects.get(user=admin_a_user, agency=agency_a)

    response = platform.post(f"{PLATFORM_PEOPLE}{mine.pk}/end/")

    assert_problem(response, 409, "last_agency_admin")
    assert Membership.objects.get(pk=mine.pk).is_active


def test_bad_role_changes_nothing(admin_a, agent):
    assert_problem(
        admin_a.post(f"{PEOPLE}{agent.pk}/role/", {"role": "king"}), 400, "validation_failed"
    )
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_an_admin_resets_a_members_password(api, client, tokens, admin_a, agent, agency_a):
    session = tokens(agent.user, TokenKind.STAFF, agency=agency_a, role="agent")

    response = admin_a.post(f"{PEOPLE}{agent.pk}/reset-password/")

    assert response.status_code == 202, response.content
    assert_problem(api(HOST_A, session.access).get(STAFF_ME), 401, "token_revoked")
    agent.user.refresh_from_db()
    assert not agent.user.has_usable_password()
    [message] = mail.outbox
    assert message.to == [agent.user.email]
    assert f"http://{HOST_A}/admin/password_reset/" in message.body
    assert _events("user.password_reset_forced")
    # The link works although the old password is unusable, once.
    link = re.search(r"http://[^/\s]+(/admin/password_reset/\S+/\S+/)", message.body).group(1)
    form = client.get(link, HTTP_HOST=HOST_A)["Location"]
    new = {"new_password1": "une-phrase-toute-neuve", "new_password2": "une-phrase-toute-neuve"}
    assert client.post(form, new, HTTP_HOST=HOST_A).status_code == 302
    agent.user.refresh_from_db()
    assert agent.user.check_password("une-phrase-toute-neuve")


def test_agency_b_cannot_see_or_touch_agency_a_people(api, tokens, staff_of, agency_b, agent):
    admin_b = staff_of(agency_b, Role.AGENCY_ADMIN)
    client_b = api(
        HOST_B, tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
    )
    base = f"{PEOPLE}{agent.pk}/"

    assert str(agent.pk) not in {row["id"] for row in client_b.get(PEOPLE).json()["results"]}
    assert_problem(client_b.get(base), 404, "not_found")
    for action in ("suspend/", "end/", "reactivate/", "reset-password/"):
        assert_problem(client_b.post(f"{base}{action}"), 404, "not_found")
    assert_problem(client_b.post(f"{base}role/", {"role": "agency_admin"}), 404, "not_found")
    agent.refresh_from_db()
    assert (agent.is_active, agent.role) == (True, Role.AGENT)
    assert mail.outbox == []


@pytest.mark.parametrize("who", ["anonymous", "citizen", "agent", "auditor", "other-agency"])
def test_only_this_agencys_admins_manage_people(
    api, tokens, staff_of, citizen, agency_a, agency_b, agent, who
):
    if who == "anonymous":
        caller, status = api(HOST_A), 401
    elif who == "citizen":
        caller, status = api(HOST_A, tokens(citizen).access), 403
    elif who in ("agent", "auditor"):
        person = staff_of(agency_a, who)
        caller, status = (
            api(HOST_A, tokens(person, TokenKind.STAFF, agency=agency_a, role=who).access),
            403,
        )
    else:
        other = staff_of(agency_b, Role.AGENCY_ADMIN)
        token = tokens(other, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
        caller, status = api(HOST_A, token), 401

    assert caller.get(PEOPLE).status_code == status
    assert caller.post(f"{PEOPLE}{agent.pk}/suspend/").status_code == status
    agent.refresh_from_db()
    assert agent.is_active


def test_the_list_has_a_query_budget(admin_a, staff_of, agency_a, django_assert_max_num_queries):
    for _ in range(5):
        staff_of(agency_a, Role.AGENT)

    with django_assert_max_num_queries(6):
        response = admin_a.get(PEOPLE)

    assert response.json()["count"] == 6


# --- platform admins ---------------------------------------------------------------------------


@pytest.fixture
def platform(api, tokens, platform_admin):
    return api(PUBLIC_HOST, tokens(platform_admin, TokenKind.PLATFORM).access)


def test_a_platform_admin_manages_agency_admins_of_every_agency(
    api, tokens, platform, staff_of, agency_a, agency_b
):
    first = staff_of(agency_a, Role.AGENCY_ADMIN)
    staff_of(agency_a, Role.AGENCY_ADMIN)
    other = staff_of(agency_b, Role.AGENCY_ADMIN)
    membership = Membership.objects.get(user=first, agency=agency_a)
    session = tokens(first, TokenKind.STAFF, agency=agency_a, role="agency_admin")

    listing = platform.get(PLATFORM_PEOPLE, {"role": "agency_admin"}).json()
    suspended = platform.post(f"{PLATFORM_PEOPLE}{membership.pk}/suspend/")

    assert {row["user"]["id"] for row in listing["results"]} >= {str(first.pk), str(other.pk)}
    assert platform.get(PLATFORM_PEOPLE, {"agency": "agence-b"}).json()["count"] == 1
    assert suspended.status_code == 200, suspended.content
    assert suspended.json()["status"] == "suspended"
    assert_problem(api(HOST_A, session.access).get(STAFF_ME), 401, "token_revoked")
    [event] = _events("membership.suspended")
    assert event.actor_role == "platform"


def test_agency_admins_have_no_platform_people_routes(admin_a, api, tokens, admin_a_user, agency_a):
    token = tokens(admin_a_user, TokenKind.STAFF, agency=agency_a, role="agency_admin").access

    assert api(PUBLIC_HOST, token).get(PLATFORM_PEOPLE).status_code == 401
    assert admin_a.get(PLATFORM_PEOPLE).status_code == 404
