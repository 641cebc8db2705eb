"""SMS gateways: the file backend, and the HTTP adapter against a real loopback server."""

from __future__ import annotations

import json
import socket
import time

import pytest

from apps.notifications.sms import (
    FileSMSBackend,
    HTTPSMSBackend,
    SMSError,
    SMSRejected,
    get_sms_gateway,
)
from tests.outbox.builders import http_receiver


def test_file_backend_appends_one_json_line_per_message(tmp_path):
    gateway = FileSMSBackend(tmp_path / "sms")

    gateway.send(to="+22890000001", body="Bonjour é", message_id="m1")
    gateway.send(to="+22890000002", body="Hello", message_id="m2")

    lines = (tmp_path / "sms" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["m1", "m2"]
    assert json.loads(lines[0])["body"] == "Bonjour é"
    assert json.loads(lines[0])["to"] == "+22890000001"


def test_the_backend_comes_from_settings(settings, tmp_path):
    settings.SMS_BACKEND = "apps.notifications.sms.HTTPSMSBackend"
    assert isinstance(get_sms_gateway(), HTTPSMSBackend)
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    settings.SMS_FILE_DIR = tmp_path
    assert isinstance(get_sms_gateway(), FileSMSBackend)


@pytest.fixture
def gateway_settings(settings):
    settings.SMS_GATEWAY_TOKEN = "gateway-token"
    settings.SMS_SENDER_ID = "GUICHET"
    settings.SMS_GATEWAY_CONNECT_TIMEOUT = 1.0
    settings.SMS_GATEWAY_READ_TIMEOUT = 0.3
    return settings


def test_http_gateway_posts_json_with_token_and_idempotency_key(gateway_settings):
    with http_receiver(status=202) as receiver:
        gateway_settings.SMS_GATEWAY_URL = receiver.url
        HTTPSMSBackend().send(to="+22890000001", body="Bonjour", message_id="msg-1")

    [request] = receiver.requests
    assert json.loads(request.body) == {
        "to": "+22890000001",
        "body": "Bonjour",
        "sender": "GUICHET",
        "reference": "msg-1",
    }
    assert request.headers["Authorization"] == "Bearer gateway-token"
    assert request.headers["Idempotency-Key"] == "msg-1"


def test_http_gateway_5xx_is_a_temporary_failure(gateway_settings):
    with http_receiver(status=500) as receiver:
        gateway_settings.SMS_GATEWAY_URL = receiver.url
        with pytest.raises(SMSError) as error:
            HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
    assert error.value.permanent is False
    assert "500" in str(error.value)


def test_http_gateway_4xx_is_permanent(gateway_settings):
    with http_receiver(status=400) as receiver:
        gateway_settings.SMS_GATEWAY_URL = receiver.url
        with pytest.raises(SMSRejected) as error:
            HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
    assert error.value.permanent is True


def test_http_gateway_429_is_temporary(gateway_settings):
    with http_receiver(status=429) as receiver:
        gateway_settings.SMS_GATEWAY_URL = receiver.url
        with pytest.raises(SMSError) as error:
            HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
    assert error.value.permanent is False


def test_a_hanging_gateway_times_out_quickly(gateway_settings):
    with http_receiver(status=200, hang=3) as receiver:
        gateway_settings.SMS_GATEWAY_URL = receiver.url
        started = time.monotonic()
        with pytest.raises(SMSError, match="timeout") as error:
            HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
        elapsed = time.monotonic() - started
    assert error.value.permanent is False
    assert elapsed < 1.5  # the read timeout (0.3 s), not the gateway's 3 s


def test_a_gateway_that_refuses_connections_is_temporary(gateway_settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway_settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/sms"
    with pytest.raises(SMSError, match="connection failed") as error:
        HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
    assert error.value.permanent is False


def test_without_a_gateway_url_messages_are_refused(gateway_settings):
    gateway_settings.SMS_GATEWAY_URL = ""
    with pytest.raises(SMSRejected):
        HTTPSMSBackend().send(to="+22890000001", body="x", message_id="m")
