"""Citizen sign-up."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/register/"
PASSWORD = "une-phrase-de-passe-longue"


def test_sign_up_with_email_creates_an_argon2_account_and_audits_it(api):
    response = api(PUBLIC_HOST).post(
        URL,
        {"email": "Afi.Mensah@Example.TG", "password": PASSWORD, "first_name": "Afi"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "afi.mensah@example.tg"
    assert body["preferred_language"] == "fr"
    assert body["memberships"] == []
    assert "password" not in body
    user = User.objects.get(email="afi.mensah@example.tg")
    assert user.password.startswith("argon2")
    event = AuditEvent.objects.get(action="user.registered")
    assert event.agency_schema == "public"
    assert event.target_id == str(user.id)
    assert event.changes["email"] == {"old": "[redacted]", "new": "[redacted]"}
    assert "afi" not in str(event.changes).lower()


def test_sign_up_with_local_phone_is_stored_in_e164(api):
    response = api(HOST_A).post(URL, {"phone": "90 11 22 33", "password": PASSWORD}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+22890112233"
    assert User.objects.filter(phone="+22890112233").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12", "password": PASSWORD}, "phone"),
        ({"phone": "+228 00", "password": PASSWORD}, "phone"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.tg", "password": "court"}, "password"),
        ({"email": "a@example.tg", "password": "1234567890123"}, "password"),
        ({"password": PASSWORD}, "non_field_errors"),
        (
            {"email": "a@example.tg", "password": PASSWORD, "preferred_language": "de"},
            "preferred_language",
        ),
    ],
)
def test_invalid_sign_up_is_400_with_the_field_and_writes_nothing(api, payload, field):
    before = AuditEvent.objects.count()

    response = api().post(URL, payload, format="json")

    body = assert_problem(response, 400, "validation_failed")
    assert field in body["errors"]
    assert not User.objects.exists()
    assert AuditEvent.objects.count() == before


def test_duplicate_sign_up_is_409_and_writes_nothing(api, citizen):
    before = AuditEvent.objects.count()

    response = api().post(
        URL, {"email": citizen.email.upper(), "password": PASSWORD}, format="json"
    )

    assert_problem(response, 409, "account_exists")
    assert User.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_duplicate_phone_is_409(api, citizen):
    response = api().post(URL, {"phone": citizen.phone, "password": PASSWORD}, format="json")

    assert_problem(response, 409, "account_exists")


def test_concurrent_duplicate_is_caught_by_the_database(citizen, monkeypatch):
    """Even if the pre-check misses a racing sign-up, the unique index answers 409."""
    from apps.accounts import services
    from apps.core.errors import ConflictError

    class NoRows:
        def exists(self):
            return False

    monkeypatch.setattr(services.User.objects, "filter", lambda *args, **kw: NoRows())

    with pytest.raises(ConflictError) as caught:
        services.user_register(email=citizen.email, password=PASSWORD)
    assert caught.value.code == "account_exists"


def test_a_concurrent_look_alike_is_caught_by_the_skeleton_index(citizen, monkeypatch):
    """The skeleton is unique in the database too: a look-alike racing past the pre-check."""
    from apps.accounts import services
    from apps.core.errors import ConflictError

    class NoRows:
        def exists(self):
            return False

    monkeypatch.setattr(services.User.objects, "filter", lambda *args, **kw: NoRows())
    look_alike = "citoy\u0435n@example.tg"  # the citizen's address with a Cyrillic е
    assert citizen.email == "citoyen@example.tg"

    with pytest.raises(ConflictError) as caught:
        services.user_register(email=look_alike, password=PASSWORD)
    assert caught.value.code == "account_exists"
