"""One-time codes verifying a person's email address or phone number."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.core import mail

from apps.accounts.models import Language
from apps.audit.models import AuditEvent
from apps.core.errors import ServiceUnavailableError
from apps.hotkeys.keys import hot_prefix
from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem
from tests.security.helpers import with_rates

pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/auth/verify/request/"
CONFIRM = "/api/v1/auth/verify/confirm/"
CODE_RE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path / "sms"


def texts(settings) -> list[dict]:
    path = settings.SMS_FILE_DIR / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def emailed_code() -> str:
    return CODE_RE.search(mail.outbox[-1].body).group(1)


def request_code(api, access: str, channel: str = "email", host: str = PUBLIC_HOST):
    return api(host, access).post(REQUEST, {"channel": channel}, format="json")


def confirm(api, access: str, code: str, channel: str = "email", host: str = PUBLIC_HOST):
    return api(host, access).post(CONFIRM, {"channel": channel, "code": code}, format="json")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_email_code_verifies_the_address(api, citizen, tokens):
    access = tokens(citizen).access

    sent = request_code(api, access)

    assert sent.status_code == 202
    assert sent.json() == {"channel": "email", "expires_in": 600}
    [message] = mail.outbox
    assert message.to == [citizen.email]
    code = emailed_code()
    confirmed = confirm(api, access, code)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["email_verified_at"] is not None
    assert confirmed.json()["phone_verified_at"] is None
    citizen.refresh_from_db()
    assert citizen.email_verified_at is not None
    [event] = AuditEvent.objects.filter(action="user.email_verified")
    assert (event.target_type, event.target_id, event.outcome) == (
        "user",
        str(citizen.id),
        "success",
    )


def test_phone_code_goes_by_sms(api, settings, citizen, tokens):
    access = tokens(citizen).access

    assert request_code(api, access, "phone", host=HOST_A).status_code == 202

    [text] = texts(settings)
    assert text["to"] == citizen.phone
    code = CODE_RE.search(text["body"]).group(1)
    assert confirm(api, access, code, "phone", host=HOST_A).status_code == 200
    citizen.refresh_from_db()
    assert citizen.phone_verified_at is not None
    assert citizen.email_verified_at is None
    assert mail.outbox == []


def test_code_is_stored_hashed_and_never_logged(api, citizen, tokens, caplog):
    caplog.set_level("DEBUG")
    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()

    stored = get_store().range(hot_prefix("public", "otp"))

    assert len(stored) == 2  # the code's MAC and its attempts counter
    for key, value in stored:
        assert code.encode() not in key
        assert code.encode() not in value
    assert any(len(value) == 32 for _, value in stored)  # HMAC-SHA256
    assert code not in caplog.text
    confirm(api, access, wrong(code))
    confirm(api, access, code)
    assert code not in caplog.text


def test_wrong_codes_count_down_then_burn_the_code(api, settings, citizen, tokens):
    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()

    lefts = [confirm(api, access, wrong(code)).json().get("attempts_left") for _ in range(4)]
    burned = confirm(api, access, wrong(code))
    too_late = confirm(api, access, code)

    assert lefts == [4, 3, 2, 1]
    assert_problem(burned, 400, "otp_attempts_exceeded")
    assert_problem(too_late, 400, "otp_expired")
    citizen.refresh_from_db()
    assert citizen.email_verified_at is None
    assert get_store().range(hot_prefix("public", "otp")) == []


def test_the_last_attempt_may_still_be_right(api, citizen, tokens):
    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()
    for _ in range(4):
        assert_problem(confirm(api, access, wrong(code)), 400, "otp_invalid")

    assert confirm(api, access, code).status_code == 200


def test_a_code_works_once(api, citizen, tokens):
    access = tokens(citizen).access
    request_code(api, access, "phone")
    request_code(api, access)
    code = emailed_code()
    confirm(api, access, code)

    assert_problem(confirm(api, access, code), 409, "already_verified")
    assert_problem(request_code(api, access), 409, "already_verified")


def test_code_expires(api, settings, citizen, tokens):
    settings.OTP_TTL_SECONDS = 1
    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()

    time.sleep(1.2)

    assert_problem(confirm(api, access, code), 400, "otp_expired")


def test_a_new_request_replaces_the_previous_code(api, citizen, tokens):
    access = tokens(citizen).access
    request_code(api, access)
    first = emailed_code()
    request_code(api, access)
    second = emailed_code()
    if first == second:  # one chance in a million
        pytest.skip("the two random codes happened to be equal")

    assert_problem(confirm(api, access, first), 400, "otp_invalid")
    assert confirm(api, access, second).status_code == 200


def test_code_is_bound_to_the_address_it_was_sent_to(api, citizen, tokens):
    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()
    citizen.email = "changee@example.tg"
    citizen.save(update_fields=["email"])

    assert_problem(confirm(api, access, code), 400, "otp_invalid")


def test_codes_are_per_person(api, citizen, other_citizen, tokens):
    request_code(api, tokens(citizen).access)
    code = emailed_code()

    response = confirm(api, tokens(other_citizen).access, code)

    assert_problem(response, 400, "otp_expired")
    other_citizen.refresh_from_db()
    assert other_citizen.email_verified_at is None


def test_no_such_address_on_the_account(api, tokens):
    from tests.factories import UserFactory

    email_only = UserFactory(phone=None)

    response = request_code(api, tokens(email_only).access, "phone")

    body = assert_problem(response, 400, "channel_unavailable")
    assert "channel" in body["errors"]


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_malformed_codes_are_refused_without_spending_an_attempt(api, citizen, tokens, code):
    access = tokens(citizen).access
    request_code(api, access)
    real = emailed_code()

    assert_problem(confirm(api, access, code), 400, "validation_failed")
    assert confirm(api, access, wrong(real)).json()["attempts_left"] == 4


def test_message_is_in_the_persons_language(api, citizen, tokens):
    citizen.preferred_language = Language.ENGLISH
    citizen.save(update_fields=["preferred_language"])

    request_code(api, tokens(citizen).access)

    assert "verification code" in mail.outbox[-1].body


def test_only_people_may_ask_for_codes(api, agency_a):
    from apps.accounts.tokens import issue_partner_token

    partner = issue_partner_token(
        client_uuid="0b8c5f6e-1d4b-4a53-9a4e-0d3f7f7f7f7f",
        client_id="pc_test",
        agency="agence_a",
        scopes=[],
    ).access

    assert api(HOST_A).post(REQUEST, {"channel": "email"}, format="json").status_code == 401
    assert (
        api(HOST_A, partner).post(REQUEST, {"channel": "email"}, format="json").status_code == 403
    )
    assert (
        api(HOST_A, partner).post(CONFIRM, {"channel": "email", "code": "123456"}).status_code
        == 403
    )


def test_requests_are_throttled_per_person(api, settings, citizen, other_citizen, tokens):
    with_rates(settings, verify="2/hour")
    access = tokens(citizen).access

    assert [request_code(api, access).status_code for _ in range(2)] == [202, 202]
    assert_problem(request_code(api, access), 429, "throttled")
    assert request_code(api, tokens(other_citizen).access).status_code == 202


def test_store_down_fails_closed(api, citizen, tokens, tmp_path):
    from tests.security.helpers import unreachable_hotkeys

    access = tokens(citizen).access
    request_code(api, access)
    code = emailed_code()
    mail.outbox.clear()

    from apps.accounts import otp

    with unreachable_hotkeys(tmp_path):
        # Through the services (the API itself refuses every token with the store down).
        with pytest.raises(ServiceUnavailableError) as requested:
            otp.otp_request(user=citizen, channel="email")
        with pytest.raises(ServiceUnavailableError) as confirmed:
            otp.otp_confirm(user=citizen, channel="email", code=code)
        over_http = request_code(api, access)

    assert requested.value.code == confirmed.value.code == "service_unavailable"
    assert requested.value.status == 503
    assert mail.outbox == []
    assert_problem(over_http, 503, "service_unavailable")
    citizen.refresh_from_db()
    assert citizen.email_verified_at is None


def test_undeliverable_code_is_503(api, settings, citizen, tokens):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    settings.SMS_GATEWAY_URL = ""  # the gateway refuses: no URL configured

    response = request_code(api, tokens(citizen).access, "phone")

    assert_problem(response, 503, "otp_delivery_failed")
