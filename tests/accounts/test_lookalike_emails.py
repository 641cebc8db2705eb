"""Look-alike e-mail addresses: one canonical form, mixed scripts refused, no second account."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.identifiers import canonical_email, email_skeleton, normalize_email
from apps.accounts.models import User
from tests.conftest import PUBLIC_HOST
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
PASSWORD = "une-phrase-de-passe-longue"
EXISTING = "afi@example.tg"


def register(api, email: str):
    return api(PUBLIC_HOST).post(URL, {"email": email, "password": PASSWORD}, format="json")


@pytest.fixture
def existing(db) -> User:
    return User.objects.create_user(email=EXISTING, password=FACTORY_PASSWORD)


SAME_MAILBOX = [
    pytest.param("ａｆｉ@ｅｘａｍｐｌｅ.ｔｇ", id="fullwidth"),
    pytest.param("afi@ＥＸＡＭＰＬＥ.tg", id="fullwidth-domain"),
    pytest.param("a\u200bfi@example.tg", id="zero-width-space"),
    pytest.param("afi\u200d@exa\u200cmple.tg", id="zero-width-joiners"),
    pytest.param("\u202eafi@example.tg", id="bidi-override"),
    pytest.param("afi@exam\u2066ple\u2069.tg", id="bidi-isolates"),
    pytest.param("afi@example.tg\ufeff", id="byte-order-mark"),
    pytest.param("AFI@Example.TG", id="case"),
]


@pytest.mark.parametrize("email", SAME_MAILBOX)
def test_a_disguised_copy_of_an_address_is_the_same_address(api, existing, email):
    assert normalize_email(email) == EXISTING

    response = register(api, email)

    assert_problem(response, 409, "account_exists")
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", SAME_MAILBOX)
def test_a_disguised_copy_signs_in_to_the_account(api, existing, email):
    response = api(PUBLIC_HOST).post(
        TOKEN, {"login": email, "password": FACTORY_PASSWORD}, format="json"
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("afi@ехаmple.tg", id="cyrillic-e-x-a-in-a-latin-domain"),
        pytest.param("afi@exampl\u0435.tg", id="one-cyrillic-e"),
        pytest.param("afi@εxample.tg", id="greek-epsilon"),
    ],
)
def test_mixed_script_domains_are_refused_with_their_own_code(api, email):
    response = register(api, email)

    body = assert_problem(response, 400, "email_mixed_script")
    assert body["errors"]["email"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("\u0430fi@example.tg", id="cyrillic-a-in-local-part"),
        pytest.param("аfі@example.tg", id="whole-cyrillic-local-part"),
    ],
)
def test_homoglyphs_in_the_local_part_are_refused(api, existing, email):
    response = register(api, email)

    assert response.status_code == 400
    assert response.json()["code"] in ("email_mixed_script", "validation_failed")
    assert User.objects.count() == 1


def test_a_whole_script_look_alike_domain_collides_by_skeleton(api, db):
    User.objects.create_user(email="kodjo@ace.tg", password=FACTORY_PASSWORD)
    cyrillic = "kodjo@\u0430\u0441\u0435.tg"  # а с е: one script per label, so not "mixed"

    assert normalize_email(cyrillic) == cyrillic
    assert email_skeleton(cyrillic) == "kodjo@ace.tg"
    assert_problem(register(api, cyrillic), 409, "account_exists")
    assert User.objects.count() == 1


def test_distinct_ascii_addresses_stay_distinct(api, existing):
    assert register(api, "afi1@example.tg").status_code == 201
    assert register(api, "afl@example.tg").status_code == 201


def test_an_internationalised_domain_is_kept_readable(api):
    response = register(api, "kossi@ÉCOLE.tg")

    assert response.status_code == 201, response.content
    assert response.json()["email"] == "kossi@école.tg"


def test_every_save_stores_the_canonical_form(db):
    user = User.objects.create_user(email="Ｋｏｆｉ@Example.tg\u200b")
    assert user.email == "kofi@example.tg"
    assert user.email_skeleton == "kofi@example.tg"

    user.email = "KOFI@ex\u00adample.tg"
    user.save(update_fields=["email"])

    user.refresh_from_db()
    assert (user.email, user.email_skeleton) == ("kofi@example.tg", "kofi@example.tg")


def test_canonical_email_leaves_an_unparseable_value_to_validation():
    assert canonical_email("no-at-sign") == "no-at-sign"
    assert canonical_email("x@exa mple..tg") == "x@exa mple..tg"
    assert canonical_email("X@\u0080bad..tg") == "x@\u0080bad..tg"  # not an IDN: left as is
    with pytest.raises(Exception):  # noqa: B017, PT011 - Django's ValidationError
        normalize_email("x@\u0080bad..tg")


def _insert_raw(email: str) -> None:
    """An account written around the application (before this check existed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (id, email, password, first_name, last_name, "
            "preferred_language, is_active, is_staff, is_superuser, date_joined) VALUES "
            "(gen_random_uuid(), %s, '', '', '', 'fr', true, false, false, now())",
            [email],
        )


def test_the_command_reports_existing_look_alike_accounts(existing):
    _insert_raw("ａｆｉ@example.tg")
    _insert_raw("afi@exampl\u0435.tg")
    _insert_raw("someone@else.tg")
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("accounts_lookalikes", "--check", stdout=out)

    report = out.getvalue()
    assert report.count("look-alike:") == 1
    assert report.count("mixed-script:") == 1
    assert str(existing.pk) in report
    assert "afi@" not in report  # ids only, unless asked
    assert "1 group(s) of look-alike accounts" in report
    shown = StringIO()
    call_command("accounts_lookalikes", "--show-emails", stdout=shown)
    assert "afi@example.tg" in shown.getvalue()


def test_the_command_is_quiet_when_nothing_collides(existing):
    out = StringIO()

    call_command("accounts_lookalikes", "--check", stdout=out)

    assert "0 group(s)" in out.getvalue()
