"""The webhook signature scheme, and the receiver example of docs/webhooks.md."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from apps.webhooks.signing import (
    secret_decrypt,
    secret_encrypt,
    secret_new,
    signature_compute,
    signature_header,
    signature_verify,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
BODY = b'{"id":"e1","type":"application.submitted"}'


def test_secrets_are_random_and_round_trip_through_encryption():
    first, second = secret_new(), secret_new()
    assert first != second
    assert first.startswith("whsec_")
    stored = secret_encrypt(first)
    assert first not in stored
    assert secret_decrypt(stored) == first


def test_a_secret_stored_under_another_key_cannot_be_read(settings):
    stored = secret_encrypt("whsec_x")
    settings.WEBHOOK_SECRET_KEY = "another-key"
    with pytest.raises(ValueError, match="WEBHOOK_SECRET_KEY"):
        secret_decrypt(stored)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature_compute(secret="whsec_k", timestamp=1700000000, body=BODY) == expected
    assert signature_header(secret="whsec_k", body=BODY, timestamp=1700000000) == (
        f"t=1700000000,v1={expected}"
    )


def test_verification_accepts_a_fresh_signature():
    header = signature_header(secret="whsec_k", body=BODY)
    assert signature_verify(header=header, body=BODY, secret="whsec_k")


@pytest.mark.parametrize(
    ("header_secret", "body", "age"),
    [
        ("whsec_other", BODY, 0),  # wrong secret
        ("whsec_k", BODY + b" ", 0),  # body changed
        ("whsec_k", BODY, 301),  # replayed after five minutes
        ("whsec_k", BODY, -301),  # from the future
    ],
)
def test_verification_refuses_tampering_and_replays(header_secret, body, age):
    now = time.time()
    header = signature_header(secret=header_secret, body=BODY, timestamp=int(now - age))
    assert not signature_verify(header=header, body=body, secret="whsec_k", now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=abc,v1=abc", "t=1700000000"])
def test_verification_refuses_malformed_headers(header):
    assert not signature_verify(header=header, body=BODY, secret="whsec_k", now=1700000000)


def _doc_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/webhooks.md has no python example"
    return blocks[0]


def test_the_documented_receiver_accepts_our_deliveries_and_refuses_forgeries():
    namespace: dict = {}
    exec(compile(_doc_example(), str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    verify = namespace["verify_guichet_webhook"]
    seen: set[str] = set()

    header = signature_header(secret="whsec_k", body=BODY)
    headers = {"Guichet-Signature": header, "Guichet-Event-Id": "evt-1"}
    assert verify(BODY, headers, "whsec_k", seen) == "accept"
    assert verify(BODY, headers, "whsec_k", seen) == "duplicate"
    assert verify(BODY + b"x", {**headers, "Guichet-Event-Id": "evt-2"}, "whsec_k", seen) == (
        "reject"
    )
    old = signature_header(secret="whsec_k", body=BODY, timestamp=int(time.time()) - 600)
    assert verify(
        BODY, {"Guichet-Signature": old, "Guichet-Event-Id": "evt-3"}, "whsec_k", seen
    ) == ("reject")
