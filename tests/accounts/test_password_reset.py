"""Password reset: a one-time code for citizens (same answer whether the login exists or not),
a single-use link for staff (console); a reset ends every session; audited."""

from __future__ import annotations

import json
import re
import statistics
import time

import pytest
from django.core import mail

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from apps.outbox.models import OutboxMessage
from apps.outbox.services import outbox_process
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem
from tests.security.helpers import unreachable_hotkeys, with_rates

pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/auth/password-reset/request/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
CODE_RE = re.compile(r"\b(\d{6})\b")
NEW_PASSWORD = "une-nouvelle-phrase-longue"


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path / "sms"


@pytest.fixture
def verified(db):
    from django.utils import timezone

    return UserFactory(email="awa@example.tg", email_verified_at=timezone.now())


def _code() -> str:
    return CODE_RE.search(mail.outbox[-1].body).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _confirm(api, login: str, code: str, password: str = NEW_PASSWORD):
    return api(PUBLIC_HOST).post(
        CONFIRM, {"login": login, "code": code, "new_password": password}, format="json"
    )


def test_a_citizen_resets_with_the_code_and_every_session_ends(api, tokens, verified):
    session = tokens(verified)

    asked = api(PUBLIC_HOST).post(REQUEST, {"login": "AWA@example.tg"})

    assert asked.status_code == 202, asked.content
    [message] = mail.outbox
    assert message.to == ["awa@example.tg"]
    code = _code()
    done = _confirm(api, "awa@example.tg", code)
    assert done.status_code == 204, done.content
    verified.refresh_from_db()
    assert verified.check_password(NEW_PASSWORD)
    assert_problem(api(PUBLIC_HOST, session.access).get("/api/v1/me/"), 401, "token_revoked")
    assert (
        api(PUBLIC_HOST)
        .post("/api/v1/auth/token/refresh/", {"refresh": session.refresh})
        .status_code
        == 401
    )
    assert AuditEvent.objects.filter(
        action="user.password_reset", target_id=str(verified.pk), outcome="success"
    ).exists()
    # Every address on file is told, through the outbox.
    notices = OutboxMessage.objects.filter(payload__template="password_changed")
    assert [m.payload["channel"] for m in notices] == ["email"]
    mail.outbox.clear()
    assert outbox_process(message_id=notices[0].pk).status == "sent"
    assert mail.outbox[0].to == ["awa@example.tg"]
    assert "réinitialisé" in mail.outbox[0].body
    # The code was used: it does not work twice.
    assert_problem(
        _confirm(api, "awa@example.tg", code, "encore-une-autre-phrase"), 400, "otp_expired"
    )


def test_the_answer_is_the_same_for_an_unknown_login(api, verified):
    known = api(PUBLIC_HOST).post(REQUEST, {"login": "awa@example.tg"})
    unknown = api(PUBLIC_HOST).post(REQUEST, {"login": "personne@example.tg"})
    unverified = UserFactory(email="pas-verifie@example.tg")
    not_verified = api(PUBLIC_HOST).post(REQUEST, {"login": unverified.email})

    assert known.status_code == unknown.status_code == not_verified.status_code == 202
    assert known.json() == unknown.json() == not_verified.json()
    assert len(mail.outbox) == 1  # only to the verified address
    # Confirming behaves alike too: same codes, same attempts left.
    for login in ("awa@example.tg", "personne@example.tg", unverified.email):
        problem = assert_problem(_confirm(api, login, "000000"), 400, "otp_invalid")
        assert problem["attempts_left"] == 4


def test_the_timing_does_not_tell_whether_the_login_exists(api, verified, settings):
    settings.PASSWORD_RESET_MIN_SECONDS = 0.15

    def timed(login: str) -> float:
        started = time.monotonic()
        assert api(PUBLIC_HOST).post(REQUEST, {"login": login}).status_code == 202
        return time.monotonic() - started

    with_rates(settings, password_reset="1000/min")
    known = [timed("awa@example.tg") for _ in range(3)]
    unknown = [timed("personne@example.tg") for _ in range(3)]

    assert min(known + unknown) >= 0.15
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.05


def test_a_wrong_code_counts_down_then_burns_the_code(api, verified, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    api(PUBLIC_HOST).post(REQUEST, {"login": "awa@example.tg"})
    code = _code()

    first = assert_problem(_confirm(api, "awa@example.tg", _wrong(code)), 400, "otp_invalid")
    second = assert_problem(_confirm(api, "awa@example.tg", _wrong(code)), 400, "otp_invalid")
    assert_problem(_confirm(api, "awa@example.tg", _wrong(code)), 400, "otp_attempts_exceeded")

    assert (first["attempts_left"], second["attempts_left"]) == (2, 1)
    # Burned: even the right code is refused now, and the password never changed.
    assert_problem(_confirm(api, "awa@example.tg", code), 400, "otp_expired")
    verified.refresh_from_db()
    assert verified.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.password_reset", outcome="denied").count() == 4


def test_a_weak_password_keeps_the_code(api, verified):
    api(PUBLIC_HOST).post(REQUEST, {"login": "awa@example.tg"})

    weak = _confirm(api, "awa@example.tg", _code(), "123")

    problem = assert_problem(weak, 400, "validation_failed")
    assert "new_password" in problem["errors"]
    assert _confirm(api, "awa@example.tg", _code()).status_code == 204


def test_codes_sent_to_one_login_are_limited(api, verified, settings):
    settings.PASSWORD_RESET_MAX_SENDS = 2
    with_rates(settings, password_reset="1000/min")
    answers = [api(PUBLIC_HOST).post(REQUEST, {"login": "awa@example.tg"}) for _ in range(4)]

    assert {a.status_code for a in answers} == {202}
    assert len(mail.outbox) == 2


def test_reset_by_phone_sends_a_text(api, settings):
    from django.utils import timezone

    person = UserFactory(email=None, phone="+22890998877", phone_verified_at=timezone.now())

    api(PUBLIC_HOST).post(REQUEST, {"login": "90 99 88 77"})

    line = (settings.SMS_FILE_DIR / "sms.jsonl").read_text()
    code = CODE_RE.search(line).group(1)
    assert _confirm(api, "+22890998877", code).status_code == 204
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)


def test_the_store_down_fails_closed_for_every_login(api, verified, tmp_path):
    with unreachable_hotkeys(tmp_path):
        asked = api(PUBLIC_HOST).post(REQUEST, {"login": "awa@example.tg"})
        unknown = api(PUBLIC_HOST).post(REQUEST, {"login": "personne@example.tg"})
        confirmed = _confirm(api, "awa@example.tg", "123456")

    assert_problem(asked, 503, "service_unavailable")
    assert_problem(unknown, 503, "service_unavailable")
    assert_problem(confirmed, 503, "service_unavailable")
    assert mail.outbox == []
    verified.refresh_from_db()
    assert verified.check_password(PASSWORD)


# --- staff: the console's "forgot password" and its single-use link -----------------------------

FORGOT = "/admin/password_reset/"
LINK_RE = re.compile(r"http://[^/\s]+(/admin/password_reset/[^/\s]+/[^/\s]+/)")


def test_the_console_login_offers_a_forgotten_password_link(client):
    page = client.get("/admin/login/", HTTP_HOST=HOST_A).content.decode()

    assert FORGOT in page


def test_a_staff_member_resets_through_the_console(client, api, tokens, staff_of, agency_a):
    agent = staff_of(agency_a, Role.AGENT)
    session = tokens(agent, TokenKind.STAFF, agency=agency_a, role="agent")

    asked = client.post(FORGOT, {"login": agent.email}, HTTP_HOST=HOST_A)

    assert asked.status_code == 302
    [message] = mail.outbox
    link = LINK_RE.search(message.body).group(1)
    opened = client.get(link, HTTP_HOST=HOST_A)
    assert opened.status_code == 302  # Django hides the token from the page's address
    form_url = opened["Location"]
    done = client.post(
        form_url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        HTTP_HOST=HOST_A,
    )
    assert done.status_code == 302, done.content
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)
    assert_problem(api(HOST_A, session.access).get("/api/v1/staff/me/"), 401, "token_revoked")
    assert AuditEvent.objects.filter(action="user.password_reset", target_id=str(agent.pk)).exists()
    # Single use: the link is dead now.
    again = client.get(link, HTTP_HOST=HOST_A, follow=True)
    assert "new_password1" not in again.content.decode()


def test_the_console_says_the_same_for_unknown_and_other_agencys_logins(
    client, staff_of, citizen, agency_b
):
    other = staff_of(agency_b, Role.AGENT)
    answers = [
        client.post(FORGOT, {"login": login}, HTTP_HOST=HOST_A, follow=True)
        for login in ("personne@example.tg", other.email, citizen.email, "pas un login")
    ]

    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert mail.outbox == []  # neither a stranger nor another agency's staff gets a link here


def test_another_agencys_console_sends_its_own_members_a_link(client, staff_of, agency_b):
    other = staff_of(agency_b, Role.AGENT)

    client.post(FORGOT, {"login": other.email}, HTTP_HOST=HOST_B)

    assert f"http://{HOST_B}/admin/password_reset/" in mail.outbox[0].body


def test_a_staff_member_without_email_gets_the_link_by_sms(client, settings, agency_a):
    from apps.accounts.services import membership_grant

    agent = UserFactory(email=None, phone="+22890554433")
    membership_grant(user=agent, agency=agency_a, role=Role.AGENT)

    client.post(FORGOT, {"login": "90 55 44 33"}, HTTP_HOST=HOST_A)

    [text] = [
        json.loads(line) for line in (settings.SMS_FILE_DIR / "sms.jsonl").read_text().splitlines()
    ]
    assert text["to"] == "+22890554433"
    assert f"http://{HOST_A}/admin/password_reset/" in text["body"]
    assert mail.outbox == []
