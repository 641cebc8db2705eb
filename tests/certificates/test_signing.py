"""Per-agency Ed25519 keys and the signed token printed in the QR code."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.certificates.signing import (
    agency_public_key,
    b64url_decode,
    b64url_encode,
    canonical_json,
    key_id,
    public_key_raw,
    sign_payload,
    token_from_qr,
    verify_token,
)

PAYLOAD = {"v": 1, "a": "agence-a", "r": "AA-2026-000001", "h": "Afi Mensah", "c": "CODE"}


def test_each_agency_has_its_own_stable_key():
    a1, a2, b = (
        agency_public_key("agence_a"),
        agency_public_key("agence_a"),
        agency_public_key("agence_b"),
    )
    assert public_key_raw(a1) == public_key_raw(a2)
    assert public_key_raw(a1) != public_key_raw(b)
    assert len(public_key_raw(a1)) == 32
    assert len(key_id(a1)) == 16


def test_the_key_follows_the_platform_secret(settings):
    before = public_key_raw(agency_public_key("agence_a"))
    settings.CERTIFICATE_SIGNING_KEY = "rotated"
    assert public_key_raw(agency_public_key("agence_a")) != before


def test_no_secret_no_signature(settings):
    settings.CERTIFICATE_SIGNING_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        agency_public_key("agence_a")


def test_a_token_verifies_with_its_agency_key_only():
    token = sign_payload(schema="agence_a", payload=PAYLOAD)

    assert verify_token(token, agency_public_key("agence_a")) == PAYLOAD
    assert verify_token(token, agency_public_key("agence_b")) is None


def test_the_payload_is_compact_sorted_json():
    token = sign_payload(schema="agence_a", payload=PAYLOAD)
    data = b64url_decode(token.split(".")[0])
    assert data == canonical_json(PAYLOAD)
    assert b" " not in data.replace(b"Afi Mensah", b"")
    assert json.loads(data) == PAYLOAD


def _tamper(token: str, **changes) -> str:
    encoded, signature = token.split(".")
    payload = json.loads(b64url_decode(encoded))
    payload.update(changes)
    return f"{b64url_encode(canonical_json(payload))}.{signature}"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: _tamper(t, h="Someone Else"),
        lambda t: _tamper(t, r="AA-2026-999999"),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
        lambda t: t.replace(".", ""),
        lambda t: t + ".x",
        lambda t: "!!!." + t.split(".")[1],
        lambda t: "x" * 5000,
        lambda t: "",
    ],
)
def test_tampered_tokens_are_invalid(mutate):
    token = sign_payload(schema="agence_a", payload=PAYLOAD)
    assert verify_token(mutate(token), agency_public_key("agence_a")) is None


def test_other_versions_are_not_accepted():
    token = sign_payload(schema="agence_a", payload={**PAYLOAD, "v": 2})
    assert verify_token(token, agency_public_key("agence_a")) is None
    listed = sign_payload(schema="agence_a", payload=PAYLOAD)
    array = b64url_encode(b"[1]") + "." + listed.split(".")[1]
    assert verify_token(array, agency_public_key("agence_a")) is None


def test_the_token_is_taken_from_the_qr_text():
    assert token_from_qr("http://x/verify/CODE/#abc.def") == "abc.def"
    assert token_from_qr("  abc.def \n") == "abc.def"


def test_bad_base64_is_a_value_error():
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode("a")
