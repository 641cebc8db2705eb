"""Stateless token users: the person's row is read only when a request needs more than the id.

``AUTH_STATELESS_USERS`` (on by default) makes ``request.user`` a ``TokenUser`` for person
tokens. What must stay true: the id, ``isinstance`` and equality work without a query; any
other attribute reads the row; a person deleted or deactivated since the token was issued is
refused (401) as soon as the row is read, and at once on every path when their tokens are
revoked (``user_tokens_revoke_before``, the password-change path).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.authentication import TokenUser
from apps.accounts.denylist import user_tokens_revoke_before
from apps.accounts.models import User
from apps.applications.models import Application
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

MY_APPLICATIONS = "/api/v1/me/applications/"
ME = "/api/v1/me/"


def _user_queries(statements: list[str]) -> list[str]:
    return [sql for sql in statements if 'FROM "accounts_user"' in sql]


def test_a_list_needing_only_the_id_does_not_read_the_person(api, citizen, tokens):
    client = api(PUBLIC_HOST, tokens(citizen).access)
    client.get(MY_APPLICATIONS)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(MY_APPLICATIONS)

    assert response.status_code == 200
    assert _user_queries([q["sql"] for q in queries.captured_queries]) == []


def test_the_profile_reads_the_row_once_and_shows_it(api, citizen, tokens):
    client = api(HOST_A, tokens(citizen).access)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["email"] == citizen.email
    assert len(_user_queries([q["sql"] for q in queries.captured_queries])) == 1


def test_a_deactivated_person_is_refused_as_soon_as_the_row_is_read(api, citizen, tokens):
    access = tokens(citizen).access
    User.objects.filter(pk=citizen.pk).update(is_active=False)

    assert_problem(api(HOST_A, access).get(ME), 401, "user_inactive")


def test_a_deleted_person_is_refused_as_soon_as_the_row_is_read(api, tokens):
    gone = User.objects.create_user(email="parti@example.tg")
    access = tokens(gone).access
    with connection.cursor() as cursor:  # the row and its outstanding tokens, nothing else
        cursor.execute(
            "DELETE FROM accounts_refreshtokenrecord WHERE outstanding_id IN "
            "(SELECT id FROM token_blacklist_outstandingtoken WHERE user_id = %s)",
            [gone.pk],
        )
        cursor.execute("DELETE FROM token_blacklist_outstandingtoken WHERE user_id = %s", [gone.pk])
        cursor.execute("DELETE FROM accounts_user WHERE id = %s", [gone.pk])

    assert_problem(api(HOST_A, access).get(ME), 401, "user_not_found")


def test_revoked_tokens_are_refused_on_paths_that_never_read_the_row(api, citizen, tokens):
    """Deactivation should revoke: the marker is checked on every request, row or not."""
    client = api(PUBLIC_HOST, tokens(citizen).access)
    assert client.get(MY_APPLICATIONS).status_code == 200

    user_tokens_revoke_before(user_id=str(citizen.pk), at=0x7FFFFFFF)

    assert_problem(client.get(MY_APPLICATIONS), 401, "token_revoked")


def test_without_the_setting_the_row_is_read_up_front(api, citizen, tokens, settings):
    settings.AUTH_STATELESS_USERS = False
    client = api(PUBLIC_HOST, tokens(citizen).access)
    client.get(MY_APPLICATIONS)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(MY_APPLICATIONS)

    assert response.status_code == 200
    assert len(_user_queries([q["sql"] for q in queries.captured_queries])) == 1


def test_a_token_user_answers_id_class_and_equality_without_a_query(citizen):
    token_user = TokenUser(citizen.pk)

    with CaptureQueriesContext(connection) as queries:
        assert token_user.pk == token_user.id == citizen.pk
        assert isinstance(token_user.pk, uuid.UUID)
        assert isinstance(token_user, User)
        assert token_user.is_authenticated
        assert not token_user.is_anonymous
        assert token_user == TokenUser(citizen.pk)
        assert token_user != TokenUser(uuid.uuid4())
        assert token_user == citizen
        assert hash(token_user) == hash(citizen)
        assert token_user != "someone"
        sql = str(Application.objects.filter(citizen=token_user).values("id").query)

    assert queries.captured_queries == []
    assert citizen.pk.hex in sql.replace("-", "")


def test_a_token_user_loads_the_row_for_anything_else(citizen):
    token_user = TokenUser(citizen.pk)

    with CaptureQueriesContext(connection) as queries:
        email = token_user.email
        language = token_user.preferred_language

    assert email == citizen.email
    assert language == citizen.preferred_language
    assert len(queries.captured_queries) == 1


def test_a_token_naming_nobody_is_refused(api):
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["kind"] = "citizen"

    response = api(PUBLIC_HOST, str(token)).get(MY_APPLICATIONS)

    assert response.status_code == 401
