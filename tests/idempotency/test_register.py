"""POST /api/v1/auth/register/ with an Idempotency-Key: a retried sign-up replays its 201."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.idempotency.models import IdempotencyRecord
from tests.conftest import PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
BODY = {"email": "nouvelle@example.tg", "password": "une-longue-phrase-secrete"}


def test_retried_sign_up_replays_the_201_instead_of_409(api):
    first = api(PUBLIC_HOST).post(REGISTER, BODY, HTTP_IDEMPOTENCY_KEY="signup-1")
    retry = api(PUBLIC_HOST).post(REGISTER, BODY, HTTP_IDEMPOTENCY_KEY="signup-1")

    assert first.status_code == 201, first.content
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert User.objects.filter(email=BODY["email"]).count() == 1
    assert AuditEvent.objects.filter(action="user.registered").count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.scope == "register"
    assert record.caller == "ip:127.0.0.1"
    assert "password" not in str(record.response_body)


def test_sign_up_without_key_keeps_its_409_on_repeat(api):
    assert api(PUBLIC_HOST).post(REGISTER, BODY).status_code == 201

    assert_problem(api(PUBLIC_HOST).post(REGISTER, BODY), 409, "account_exists")
    assert IdempotencyRecord.objects.count() == 0


def test_same_key_with_another_sign_up_is_422(api):
    api(PUBLIC_HOST).post(REGISTER, BODY, HTTP_IDEMPOTENCY_KEY="signup-2")

    other = {**BODY, "email": "autre-nouvelle@example.tg"}
    response = api(PUBLIC_HOST).post(REGISTER, other, HTTP_IDEMPOTENCY_KEY="signup-2")

    assert_problem(response, 422, "idempotency_key_reused")
    assert not User.objects.filter(email=other["email"]).exists()


def test_refused_sign_up_can_be_fixed_and_retried_with_the_same_key(api):
    weak = {**BODY, "password": "court"}
    refused = api(PUBLIC_HOST).post(REGISTER, weak, HTTP_IDEMPOTENCY_KEY="signup-3")
    fixed = api(PUBLIC_HOST).post(REGISTER, BODY, HTTP_IDEMPOTENCY_KEY="signup-3")

    assert_problem(refused, 400, "validation_failed")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
