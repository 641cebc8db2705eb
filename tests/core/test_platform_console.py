"""The platform console is French throughout; internals are for platform superusers only."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.outbox.models import Kind, OutboxMessage
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

INTERNALS = (
    "/admin/idempotency/idempotencyrecord/",
    "/admin/token_blacklist/outstandingtoken/",
    "/admin/token_blacklist/blacklistedtoken/",
)


def visible_text(html: str) -> str:
    body = html.split("<body", 1)[1]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_platform_console_index_is_french(client, platform_admin):
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    otp_login(client, platform_admin)

    text = visible_text(client.get("/admin/").content.decode())

    for english in ("Accounts", "Agencies", "Idempotency ", "Blacklisted", "Outstanding"):
        assert english not in text, english
    assert "Personnes et accès" in text
    assert "Jetons révoqués (interne)" in text


@pytest.mark.parametrize("path", INTERNALS)
def test_platform_superusers_read_internals_and_change_nothing(client, platform_admin, path):
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    otp_login(client, platform_admin)

    listing = client.get(path)
    adding = client.get(f"{path}add/")

    assert listing.status_code == 200
    assert adding.status_code == 403


@pytest.mark.parametrize("path", INTERNALS)
def test_agency_admins_never_see_internals(client, staff_of, agency_a, path):
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, staff_of(agency_a, Role.AGENCY_ADMIN))

    index = client.get("/admin/").content.decode()

    assert client.get(path).status_code in (403, 404)
    assert path not in index


def test_raw_outbox_payloads_are_for_platform_superusers_only(
    client, staff_of, agency_a, platform_admin
):
    with schema_context("agence_a"):
        message = OutboxMessage.objects.create(
            kind=Kind.NOTIFICATION, payload={"template": "x", "recipient_id": "secret-person"}
        )
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, staff_of(agency_a, Role.AGENCY_ADMIN))

    page = client.get(f"/admin/outbox/outboxmessage/{message.pk}/change/")

    assert page.status_code == 200
    assert "secret-person" not in page.content.decode()
    client.logout()
    client.defaults["HTTP_HOST"] = PUBLIC_HOST
    otp_login(client, platform_admin)
    with schema_context("public"):
        public = OutboxMessage.objects.create(
            kind=Kind.NOTIFICATION, payload={"template": "x", "recipient_id": "platform-person"}
        )
    assert (
        "platform-person"
        in client.get(f"/admin/outbox/outboxmessage/{public.pk}/change/").content.decode()
    )
