"""Inviting civil servants: single-use, expiring links; the invitee chooses a password and
becomes a member; every step audited; never across agencies."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.codes import token_digest
from apps.accounts.models import Invitation, Membership, Role, User
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import UserFactory
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

INVITATIONS = "/api/v1/staff/invitations/"
ACCEPT = "/api/v1/invitations/accept/"
TOKEN = "/api/v1/auth/token/"
NEW_PASSWORD = "une-phrase-assez-longue"
LINK_RE = re.compile(r"http://([^/\s]+)/admin/invitation/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path / "sms"


@pytest.fixture
def admin_a_user(staff_of, agency_a):
    return staff_of(agency_a, Role.AGENCY_ADMIN)


@pytest.fixture
def admin_a(api, tokens, admin_a_user, agency_a):
    token = tokens(admin_a_user, TokenKind.STAFF, agency=agency_a, role="agency_admin").access
    return api(HOST_A, token)


def _link(body: str) -> tuple[str, str]:
    host, token = LINK_RE.search(body).groups()
    return host, token


def _agency_events(schema: str, action: str) -> list[AuditEvent]:
    with schema_context(schema):
        return list(AuditEvent.objects.filter(action=action))


def test_invitation_by_email_then_acceptance_makes_a_member_who_can_sign_in(api, admin_a):
    created = admin_a.post(INVITATIONS, {"email": "Kodjo@Example.tg", "role": "agent"})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending"
    assert body["email"] == "kodjo@example.tg"
    assert "token" not in json.dumps(body)
    [message] = mail.outbox
    assert message.to == ["kodjo@example.tg"]
    host, token = _link(message.body)
    assert host == HOST_A
    stored = Invitation.objects.get(pk=body["id"])
    assert stored.token_hash == token_digest(token)
    assert token not in stored.token_hash
    [event] = _agency_events("agence_a", "invitation.created")
    assert event.actor_role == "agency_admin"

    accepted = api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD})

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["role"] == "agent"
    assert accepted.json()["status"] == "active"
    person = User.objects.get(email="kodjo@example.tg")
    assert person.check_password(NEW_PASSWORD)
    assert person.email_verified_at is not None
    assert Membership.objects.get(user=person).role == Role.AGENT
    assert _agency_events("agence_a", "invitation.accepted")
    assert _agency_events("agence_a", "membership.granted")
    signed_in = api(HOST_A).post(
        TOKEN, {"login": "kodjo@example.tg", "password": NEW_PASSWORD, "portal": "staff"}
    )
    assert signed_in.status_code == 200, signed_in.content


def test_invitation_by_phone_sends_the_link_by_sms(api, admin_a, settings):
    created = admin_a.post(INVITATIONS, {"phone": "90 11 22 33", "role": "supervisor"})

    assert created.status_code == 201, created.content
    [text] = [
        json.loads(line) for line in (settings.SMS_FILE_DIR / "sms.jsonl").read_text().splitlines()
    ]
    assert text["to"] == "+22890112233"
    _host, token = _link(text["body"])
    assert api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 200
    person = User.objects.get(phone="+22890112233")
    assert person.phone_verified_at is not None
    assert person.email is None


def test_a_used_link_is_refused_and_changes_nothing(api, admin_a):
    admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"})
    _host, token = _link(mail.outbox[0].body)
    assert api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 200
    person = User.objects.get(email="kodjo@example.tg")
    hash_before = person.password

    again = api(HOST_A).post(ACCEPT, {"token": token, "password": "une-autre-phrase-longue"})

    assert_problem(again, 400, "invitation_invalid")
    person.refresh_from_db()
    assert person.password == hash_before


def test_an_expired_link_is_refused_and_changes_nothing(api, admin_a):
    created = admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"}).json()
    _host, token = _link(mail.outbox[0].body)
    Invitation.objects.filter(pk=created["id"]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    response = api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD})

    assert_problem(response, 400, "invitation_invalid")
    assert not User.objects.filter(email="kodjo@example.tg").exists()
    assert admin_a.get(f"{INVITATIONS}{created['id']}/").json()["status"] == "expired"


def test_a_revoked_or_superseded_link_is_refused(api, admin_a):
    first = admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"}).json()
    _host, first_token = _link(mail.outbox[0].body)
    second = admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "supervisor"}).json()
    _host, second_token = _link(mail.outbox[1].body)

    assert admin_a.get(f"{INVITATIONS}{first['id']}/").json()["status"] == "revoked"
    assert_problem(
        api(HOST_A).post(ACCEPT, {"token": first_token, "password": NEW_PASSWORD}),
        400,
        "invitation_invalid",
    )
    revoked = admin_a.post(f"{INVITATIONS}{second['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert_problem(
        api(HOST_A).post(ACCEPT, {"token": second_token, "password": NEW_PASSWORD}),
        400,
        "invitation_invalid",
    )
    assert not User.objects.filter(email="kodjo@example.tg").exists()


def test_a_weak_password_is_refused_and_the_link_still_works(api, admin_a):
    admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"})
    _host, token = _link(mail.outbox[0].body)

    weak = api(HOST_A).post(ACCEPT, {"token": token, "password": "123"})

    problem = assert_problem(weak, 400, "validation_failed")
    assert "password" in problem["errors"]
    assert not User.objects.filter(email="kodjo@example.tg").exists()
    assert api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 200


def test_a_link_of_agency_a_does_not_work_on_agency_b(api, admin_a):
    admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"})
    _host, token = _link(mail.outbox[0].body)

    response = api(HOST_B).post(ACCEPT, {"token": token, "password": NEW_PASSWORD})

    assert_problem(response, 400, "invitation_invalid")
    assert not User.objects.filter(email="kodjo@example.tg").exists()


def test_inviting_a_current_member_is_a_conflict(admin_a, staff_of, agency_a):
    agent = staff_of(agency_a, Role.AGENT)

    response = admin_a.post(INVITATIONS, {"email": agent.email, "role": "agent"})

    assert_problem(response, 409, "already_member")
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"role": "agent"}, "validation_failed"),
        ({"email": "a@example.tg", "phone": "+22890112233", "role": "agent"}, "validation_failed"),
        ({"email": "a@example.tg", "role": "king"}, "validation_failed"),
        ({"email": "a@example.tg", "role": "agent", "agency": "agence-b"}, "unknown_field"),
    ],
)
def test_bad_invitations_change_nothing(admin_a, body, code):
    assert_problem(admin_a.post(INVITATIONS, body, format="json"), 400, code)
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_existing_citizen_accepts_and_their_sessions_end(api, admin_a, citizen, tokens):
    session = tokens(citizen)
    admin_a.post(INVITATIONS, {"email": citizen.email, "role": "agent"})
    _host, token = _link(mail.outbox[0].body)

    assert api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 200

    assert_problem(api(PUBLIC_HOST, session.access).get("/api/v1/me/"), 401, "token_revoked")
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=citizen).is_active


def test_agency_b_cannot_see_or_revoke_agency_a_invitations(
    api, tokens, staff_of, agency_b, admin_a
):
    created = admin_a.post(INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"}).json()
    admin_b = staff_of(agency_b, Role.AGENCY_ADMIN)
    client_b = api(
        HOST_B, tokens(admin_b, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
    )

    assert client_b.get(INVITATIONS).json()["results"] == []
    assert_problem(client_b.get(f"{INVITATIONS}{created['id']}/"), 404, "not_found")
    assert_problem(client_b.post(f"{INVITATIONS}{created['id']}/revoke/"), 404, "not_found")
    assert Invitation.objects.get(pk=created["id"]).status == "pending"


@pytest.mark.parametrize("who", ["anonymous", "citizen", "agent", "supervisor", "other-agency"])
def test_only_this_agencys_admins_invite(api, tokens, staff_of, citizen, agency_a, agency_b, who):
    if who == "anonymous":
        caller, status = api(HOST_A), 401
    elif who == "citizen":
        caller, status = api(HOST_A, tokens(citizen).access), 403
    elif who in ("agent", "supervisor"):
        person = staff_of(agency_a, who)
        caller, status = (
            api(HOST_A, tokens(person, TokenKind.STAFF, agency=agency_a, role=who).access),
            403,
        )
    else:
        other = staff_of(agency_b, Role.AGENCY_ADMIN)
        token = tokens(other, TokenKind.STAFF, agency=agency_b, role="agency_admin").access
        caller, status = api(HOST_A, token), 401

    assert caller.get(INVITATIONS).status_code == status
    assert (
        caller.post(INVITATIONS, {"email": "x@example.tg", "role": "agent"}).status_code == status
    )
    assert not Invitation.objects.exists()


def test_the_list_has_a_query_budget(admin_a, django_assert_max_num_queries):
    for n in range(5):
        admin_a.post(INVITATIONS, {"email": f"p{n}@example.tg", "role": "agent"})

    with django_assert_max_num_queries(6):
        response = admin_a.get(INVITATIONS)

    assert response.json()["count"] == 5


def test_the_mail_is_in_the_inviters_language(admin_a):
    admin_a.post(
        INVITATIONS, {"email": "kodjo@example.tg", "role": "agent"}, HTTP_ACCEPT_LANGUAGE="fr"
    )

    assert "invité" in mail.outbox[0].body
    assert "Agence A" in mail.outbox[0].subject


# --- platform admins ---------------------------------------------------------------------------

PLATFORM_INVITATIONS = "/api/v1/platform/invitations/"


@pytest.fixture
def platform(api, tokens, platform_admin):
    return api(PUBLIC_HOST, tokens(platform_admin, TokenKind.PLATFORM).access)


def test_a_platform_admin_invites_an_agency_admin(api, platform, agency_a):
    created = platform.post(PLATFORM_INVITATIONS, {"agency": "agence-a", "email": "dir@example.tg"})

    assert created.status_code == 201, created.content
    assert created.json()["role"] == "agency_admin"
    assert created.json()["agency"] == "agence-a"
    host, token = _link(mail.outbox[0].body)
    assert host == HOST_A
    assert api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert Membership.objects.get(user__email="dir@example.tg", agency=agency_a).role == (
        Role.AGENCY_ADMIN
    )
    # Audited in the agency's own chain, although made on the platform host.
    [event] = _agency_events("agence_a", "invitation.created")
    assert event.actor_role == "platform"
    assert platform.get(PLATFORM_INVITATIONS).json()["count"] == 1


def test_a_platform_admin_cannot_invite_into_an_unknown_agency(platform):
    response = platform.post(PLATFORM_INVITATIONS, {"agency": "nulle-part", "email": "d@ex.tg"})

    assert_problem(response, 400, "unknown_agency")
    assert not Invitation.objects.exists()


def test_staff_tokens_do_not_open_the_platform_routes(api, tokens, admin_a_user, agency_a):
    token = tokens(admin_a_user, TokenKind.STAFF, agency=agency_a, role="agency_admin").access

    assert api(PUBLIC_HOST, token).get(PLATFORM_INVITATIONS).status_code == 401
    assert api(HOST_A, token).get(PLATFORM_INVITATIONS).status_code == 404


def test_an_address_colliding_with_an_account_at_acceptance_is_a_conflict(api, admin_a):
    # Sign-up and invitations refuse look-alikes up front; should one still collide when the
    # account is created (the unique skeleton), the answer is a conflict and nothing changes.
    UserFactory(email="kodjo@example.tg")
    User.objects.filter(email="kodjo@example.tg").update(email_skeleton="afi@example.tg")
    admin_a.post(INVITATIONS, {"email": "afi@example.tg", "role": "agent"})
    _host, token = _link(mail.outbox[0].body)

    response = api(HOST_A).post(ACCEPT, {"token": token, "password": NEW_PASSWORD})

    assert_problem(response, 409, "account_exists")
    assert not User.objects.filter(email="afi@example.tg").exists()
    assert Invitation.objects.get().status == "pending"
