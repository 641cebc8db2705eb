"""Certificate keys in the key ring (per agency, with kids and history) and the QR token."""

from __future__ import annotations

import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from apps.certificates.signing import (
    b64url_decode,
    b64url_encode,
    canonical_json,
    key_id,
    legacy_private_key,
    legacy_public_key,
    public_key_raw,
    sign_payload,
    signing_key,
    token_from_qr,
    verification_key,
    verify_agency_token,
    verify_token,
)

pytestmark = pytest.mark.django_db

PAYLOAD = {"v": 2, "a": "agence-a", "r": "AA-2026-000001", "h": "Afi Mensah", "c": "CODE"}


def _sign(schema: str, payload: dict) -> str:
    key = signing_key(schema)
    return sign_payload(key=key, payload={**payload, "k": key.kid})


def test_each_agency_has_its_own_key_with_a_kid_and_an_x509_certificate(agency_a, agency_b):
    a1, a2, b = signing_key("agence_a"), signing_key("agence_a"), signing_key("agence_b")

    assert a1.kid == a2.kid != b.kid
    assert a1.kid.startswith("certificates-")
    assert isinstance(a1.public_key, ec.EllipticCurvePublicKey)
    certificate = x509.load_pem_x509_certificate(a1.certificate_pem.encode())
    assert "Agence A" in certificate.subject.rfc4514_string()
    assert certificate.issuer != certificate.subject  # issued by the platform root


def test_a_token_verifies_with_its_agency_key_only(agency_a, agency_b):
    token = _sign("agence_a", PAYLOAD)
    kid = signing_key("agence_a").kid

    assert verify_agency_token(token, "agence_a") == {**PAYLOAD, "k": kid}
    assert verify_agency_token(token, "agence_b") is None
    assert verify_token(token, signing_key("agence_b").public_key) is None


def test_the_payload_is_compact_sorted_json(agency_a):
    token = _sign("agence_a", PAYLOAD)
    data = b64url_decode(token.split(".")[0])
    assert data == canonical_json({**PAYLOAD, "k": signing_key("agence_a").kid})
    assert len(b64url_decode(token.split(".")[1])) == 64  # ECDSA P-256 r || s


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
        lambda t: _tamper(t, k="certificates-unknown"),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
        lambda t: t.replace(".", ""),
        lambda t: t + ".x",
        lambda t: "!!!." + t.split(".")[1],
        lambda t: "x" * 5000,
        lambda t: "",
    ],
)
def test_tampered_tokens_are_invalid(agency_a, mutate):
    token = _sign("agence_a", PAYLOAD)
    assert verify_agency_token(mutate(token), "agence_a") is None


def test_other_versions_are_not_accepted(agency_a):
    token = _sign("agence_a", {**PAYLOAD, "v": 1})
    assert verify_agency_token(token, "agence_a") is None


def test_legacy_tokens_still_verify_while_the_legacy_secret_is_set(agency_a, settings):
    legacy = legacy_private_key("agence_a")
    payload = {**PAYLOAD, "v": 1, "k": key_id(legacy_public_key("agence_a"))}
    data = canonical_json(payload)
    token = f"{b64url_encode(data)}.{b64url_encode(legacy.sign(data))}"

    assert verify_agency_token(token, "agence_a") == payload
    assert len(public_key_raw(legacy_public_key("agence_a"))) == 32
    settings.CERTIFICATE_SIGNING_KEY = ""
    assert verify_agency_token(token, "agence_a") is None
    assert verification_key("agence_a", payload["k"]) is None


def test_the_token_is_taken_from_the_qr_text():
    assert token_from_qr("http://x/verify/CODE/#abc.def") == "abc.def"
    assert token_from_qr("  abc.def \n") == "abc.def"


def test_bad_base64_is_a_value_error():
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode("a")
