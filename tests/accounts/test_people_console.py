"""The console pages of an agency's people: agency admins see and manage their own agency's
staff and invitations (never another's); the invitation link sets a password; adding a person
goes through an invitation (a person created without a password could never sign in)."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from apps.accounts.models import Invitation, Membership, Role, User
from apps.accounts.partners import partner_client_create
from apps.accounts.tokens import TokenKind
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

PEOPLE = "/admin/accounts/membership/"
INVITATIONS = "/admin/accounts/invitation/"
INVITE = "/admin/accounts/invitation/add/"
NEW_PASSWORD = "une-phrase-assez-longue"
LINK_RE = re.compile(r"http://[^/\s]+(/admin/invitation/[A-Za-z0-9_-]+/)")


def _console(client, user, host: str):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD}, HTTP_HOST=host
    )
    assert response.status_code == 302, response.content
    return client


def test_an_agency_admin_sees_only_their_agencys_people(client, staff_of, agency_a, agency_b):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    mine = staff_of(agency_a, Role.AGENT)
    theirs = staff_of(agency_b, Role.AGENT)
    _console(client, admin, HOST_A)

    listing = client.get(PEOPLE, HTTP_HOST=HOST_A)

    assert listing.status_code == 200
    page = listing.content.decode()
    assert mine.email in page
    assert theirs.email not in page
    other = Membership.objects.get(user=theirs)
    assert client.get(f"{PEOPLE}{other.pk}/change/", HTTP_HOST=HOST_A).status_code in (302, 404)


def test_the_console_invites_then_the_link_sets_the_password(client, staff_of, agency_a, agency_b):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    _console(client, admin, HOST_A)

    sent = client.post(
        INVITE,
        # A forged agency is ignored: the host's agency is the only one offered.
        {"agency": str(agency_b.pk), "email": "Kodjo@example.tg", "phone": "", "role": "agent"},
        HTTP_HOST=HOST_A,
    )

    assert sent.status_code == 302, sent.content
    invitation = Invitation.objects.get()
    assert (invitation.agency, invitation.email) == (agency_a, "kodjo@example.tg")
    link = LINK_RE.search(mail.outbox[0].body).group(1)
    client.logout()
    page = client.get(link, HTTP_HOST=HOST_A)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    mismatch = client.post(
        link, {"new_password1": NEW_PASSWORD, "new_password2": "autre"}, HTTP_HOST=HOST_A
    )
    assert mismatch.status_code == 200
    assert not User.objects.filter(email="kodjo@example.tg").exists()
    done = client.post(
        link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, HTTP_HOST=HOST_A
    )
    assert done.status_code == 302
    assert done["Location"] == "/admin/login/"
    person = User.objects.get(email="kodjo@example.tg")
    assert person.check_password(NEW_PASSWORD)
    # The link is spent.
    assert client.get(link, HTTP_HOST=HOST_A).status_code == 400
    # And the new member signs in to the console.
    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {"username": "kodjo@example.tg", "password": NEW_PASSWORD},
        HTTP_HOST=HOST_A,
    )
    assert signed_in.status_code == 302


def test_an_invitation_link_of_agency_a_is_refused_on_agency_b(client, staff_of, agency_a):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    _console(client, admin, HOST_A)
    client.post(INVITE, {"email": "kodjo@example.tg", "role": "agent"}, HTTP_HOST=HOST_A)
    link = LINK_RE.search(mail.outbox[0].body).group(1)

    assert client.get(link, HTTP_HOST=HOST_B).status_code == 400


def test_console_actions_suspend_and_end(client, api, tokens, staff_of, agency_a):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    agent = staff_of(agency_a, Role.AGENT)
    membership = Membership.objects.get(user=agent)
    session = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent")
    _console(client, admin, HOST_A)

    client.post(
        PEOPLE, {"action": "suspend", "_selected_action": [str(membership.pk)]}, HTTP_HOST=HOST_A
    )

    membership.refresh_from_db()
    assert membership.status == "suspended"
    assert_problem(api(HOST_A, session.access).get("/api/v1/staff/me/"), 401, "token_revoked")
    client.post(
        PEOPLE, {"action": "end", "_selected_action": [str(membership.pk)]}, HTTP_HOST=HOST_A
    )
    membership.refresh_from_db()
    assert membership.status == "ended"


def test_the_console_changes_a_role(client, staff_of, agency_a):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    agent = staff_of(agency_a, Role.AGENT)
    membership = Membership.objects.get(user=agent)
    _console(client, admin, HOST_A)

    response = client.post(
        f"{PEOPLE}{membership.pk}/change/", {"role": "supervisor"}, HTTP_HOST=HOST_A
    )

    assert response.status_code == 302, response.content
    membership.refresh_from_db()
    assert membership.role == Role.SUPERVISOR


def test_a_suspended_member_loses_the_console_at_the_next_click(client, staff_of, agency_a):
    agent = staff_of(agency_a, Role.AGENT)
    _console(client, agent, HOST_A)
    assert client.get("/admin/", HTTP_HOST=HOST_A).status_code == 200

    Membership.objects.filter(user=agent).update(is_active=False)

    assert client.get("/admin/", HTTP_HOST=HOST_A).status_code == 302


def test_an_agent_has_no_people_pages(client, staff_of, agency_a):
    agent = staff_of(agency_a, Role.AGENT)
    _console(client, agent, HOST_A)

    assert client.get(PEOPLE, HTTP_HOST=HOST_A).status_code == 403
    assert client.get(INVITE, HTTP_HOST=HOST_A).status_code == 403
    client.post(INVITE, {"email": "x@example.tg", "role": "agency_admin"}, HTTP_HOST=HOST_A)
    assert not Invitation.objects.exists()


def test_adding_a_user_in_the_platform_console_goes_through_an_invitation(
    client, platform_admin, agency_a
):
    _console(client, platform_admin, PUBLIC_HOST)

    add_user = client.get("/admin/accounts/user/add/", HTTP_HOST=PUBLIC_HOST)
    assert add_user.status_code == 302
    assert add_user["Location"] == INVITE
    sent = client.post(
        INVITE,
        {
            "agency": str(agency_a.pk),
            "email": "dir@example.tg",
            "phone": "",
            "role": "agency_admin",
        },
        HTTP_HOST=PUBLIC_HOST,
    )

    assert sent.status_code == 302, sent.content
    assert not User.objects.filter(email="dir@example.tg").exists()  # not before acceptance
    link = LINK_RE.search(mail.outbox[0].body).group(1)
    assert f"http://{HOST_A}{link}" in mail.outbox[0].body
    client.logout()
    client.post(
        link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, HTTP_HOST=HOST_A
    )
    person = User.objects.get(email="dir@example.tg")
    assert person.has_usable_password()
    assert Membership.objects.get(user=person).role == Role.AGENCY_ADMIN


def test_a_platform_admin_sees_every_agencys_people(
    client, platform_admin, staff_of, agency_a, agency_b
):
    a = staff_of(agency_a, Role.AGENCY_ADMIN)
    b = staff_of(agency_b, Role.AGENCY_ADMIN)
    _console(client, platform_admin, PUBLIC_HOST)

    page = client.get(PEOPLE, HTTP_HOST=PUBLIC_HOST).content.decode()

    assert a.email in page
    assert b.email in page


def test_an_agency_admin_manages_their_partner_clients_in_the_console(client, staff_of, agency_a):
    # Issue 14, item 4: "an agency admin gets 403 on their own agency's staff and partners".
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    partner_client_create(name="Banque", grants={agency_a: ["catalogue:read"]})
    _console(client, admin, HOST_A)

    index = client.get("/admin/", HTTP_HOST=HOST_A).content.decode()

    assert "/admin/accounts/partnerclient/" in index
    assert "/admin/accounts/membership/" in index
    assert "/admin/accounts/invitation/" in index
    assert client.get("/admin/accounts/partnerclient/", HTTP_HOST=HOST_A).status_code == 200
    assert client.get(PEOPLE, HTTP_HOST=HOST_A).status_code == 200
