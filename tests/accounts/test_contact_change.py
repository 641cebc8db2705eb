"""A citizen changes their e-mail or phone only after proving the new one with a code; the old
address is told through the outbox; audited."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail

from apps.accounts.models import ContactChange
from apps.audit.models import AuditEvent
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import UserFactory
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/me/contact/request/"
CONFIRM = "/api/v1/me/contact/confirm/"
CODE_RE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path / "sms"


def _texts(settings) -> list[dict]:
    path = settings.SMS_FILE_DIR / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _deliver_notices() -> list[str]:
    ids = list(
        OutboxMessage.objects.filter(kind="notification", status=Status.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    return [outbox_process(message_id=pk).status for pk in ids]


def test_a_new_email_needs_its_code_and_the_old_address_is_told(api, tokens, citizen):
    me = api(PUBLIC_HOST, tokens(citizen).access)

    asked = me.post(REQUEST, {"email": "Nouvelle@Example.tg"})

    assert asked.status_code == 202, asked.content
    assert asked.json() == {"channel": "email", "expires_in": 600}
    [message] = mail.outbox
    assert message.to == ["nouvelle@example.tg"]  # the code goes to the new address
    citizen.refresh_from_db()
    assert citizen.email == "citoyen@example.tg"  # nothing changes before the code
    code = CODE_RE.search(message.body).group(1)

    done = me.post(CONFIRM, {"email": "nouvelle@example.tg", "code": code})

    assert done.status_code == 200, done.content
    assert done.json()["email"] == "nouvelle@example.tg"
    assert done.json()["email_verified_at"] is not None
    change = ContactChange.objects.get(user=citizen)
    assert (change.old_address, change.new_address) == ("citoyen@example.tg", "nouvelle@example.tg")
    [event] = AuditEvent.objects.filter(action="user.email_changed", target_id=str(citizen.pk))
    assert "citoyen@example.tg" not in json.dumps(event.changes)
    # The notice goes, through the outbox, to the OLD address.
    mail.outbox.clear()
    assert _deliver_notices() == ["sent"]
    [notice] = mail.outbox
    assert notice.to == ["citoyen@example.tg"]
    assert "changé" in notice.body


def test_a_new_phone_is_told_to_the_old_phone_by_sms(api, tokens, citizen, settings):
    me = api(PUBLIC_HOST, tokens(citizen).access)
    me.post(REQUEST, {"phone": "+22891000000"})
    [sent] = _texts(settings)
    assert sent["to"] == "+22891000000"
    code = CODE_RE.search(sent["body"]).group(1)

    done = me.post(CONFIRM, {"phone": "91 00 00 00", "code": code})

    assert done.status_code == 200, done.content
    assert done.json()["phone"] == "+22891000000"
    assert _deliver_notices() == ["sent"]
    notice = _texts(settings)[-1]
    assert notice["to"] == "+22890000001"


def test_a_first_phone_is_told_to_the_email_on_file(api, tokens, settings):
    person = UserFactory(email="seul@example.tg", phone=None)
    me = api(PUBLIC_HOST, tokens(person).access)
    me.post(REQUEST, {"phone": "+22891000001"})
    assert _deliver_notices() == []  # nothing before the change
    code = CODE_RE.search(_texts(settings)[0]["body"]).group(1)

    assert me.post(CONFIRM, {"phone": "+22891000001", "code": code}).status_code == 200

    assert _deliver_notices() == ["sent"]
    [notice] = mail.outbox
    assert notice.to == ["seul@example.tg"]


def test_a_wrong_code_changes_nothing(api, tokens, citizen, settings):
    settings.OTP_MAX_ATTEMPTS = 2
    me = api(PUBLIC_HOST, tokens(citizen).access)
    me.post(REQUEST, {"email": "nouvelle@example.tg"})
    code = CODE_RE.search(mail.outbox[0].body).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    first = me.post(CONFIRM, {"email": "nouvelle@example.tg", "code": wrong})
    second = me.post(CONFIRM, {"email": "nouvelle@example.tg", "code": wrong})
    late = me.post(CONFIRM, {"email": "nouvelle@example.tg", "code": code})

    assert assert_problem(first, 400, "otp_invalid")["attempts_left"] == 1
    assert_problem(second, 400, "otp_attempts_exceeded")
    assert_problem(late, 400, "otp_expired")
    citizen.refresh_from_db()
    assert citizen.email == "citoyen@example.tg"
    assert not ContactChange.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_the_code_is_bound_to_the_address_it_was_sent_to(api, tokens, citizen):
    me = api(PUBLIC_HOST, tokens(citizen).access)
    me.post(REQUEST, {"email": "nouvelle@example.tg"})
    code = CODE_RE.search(mail.outbox[0].body).group(1)

    other = me.post(CONFIRM, {"email": "pirate@example.tg", "code": code})

    assert_problem(other, 400, "otp_invalid")
    citizen.refresh_from_db()
    assert citizen.email == "citoyen@example.tg"


def test_another_accounts_address_is_refused(api, tokens, citizen, other_citizen):
    me = api(PUBLIC_HOST, tokens(citizen).access)

    response = me.post(REQUEST, {"email": other_citizen.email})

    assert_problem(response, 409, "account_exists")
    assert mail.outbox == []


def test_the_same_address_is_refused(api, tokens, citizen):
    me = api(PUBLIC_HOST, tokens(citizen).access)

    assert_problem(me.post(REQUEST, {"email": citizen.email}), 409, "address_unchanged")


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@example.tg", "phone": "+22891000000"}, {"email": "pas-une-adresse"}],
)
def test_bad_input_sends_nothing(api, tokens, citizen, body):
    me = api(PUBLIC_HOST, tokens(citizen).access)

    assert_problem(me.post(REQUEST, body, format="json"), 400, "validation_failed")
    assert mail.outbox == []


def test_anonymous_callers_cannot_change_anything(api):
    assert api(PUBLIC_HOST).post(REQUEST, {"email": "a@example.tg"}).status_code == 401


def test_a_code_of_one_person_does_not_work_for_another(api, tokens, citizen, other_citizen):
    api(PUBLIC_HOST, tokens(citizen).access).post(REQUEST, {"email": "nouvelle@example.tg"})
    code = CODE_RE.search(mail.outbox[0].body).group(1)

    stolen = api(HOST_A, tokens(other_citizen).access).post(
        CONFIRM, {"email": "nouvelle@example.tg", "code": code}
    )

    assert_problem(stolen, 400, "otp_expired")
    other_citizen.refresh_from_db()
    assert other_citizen.email == "autre@example.tg"
