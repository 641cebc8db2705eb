"""Certificate keys with history: rotation keeps old certificates verifiable (online, offline,
QR, PAdES); revocation and re-signing after a compromise; published keys and root."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from apps.accounts.keyring import keyring_cache_clear
from apps.accounts.models import KeyStatus, SigningKey
from apps.certificates.models import Certificate
from apps.certificates.pki import root_certificates_pem
from apps.certificates.services import certificate_issue
from tests.certificates.pades import pades_status, pdfsig
from tests.certificates.test_verification import _doc_example
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.outbox.builders import in_state

pytestmark = pytest.mark.django_db


def _qr(certificate: Certificate) -> str:
    return f"http://agence-a.localhost/verify/{certificate.code}/#{certificate.signed_payload}"


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("keys_rotate", *args, stdout=out)
    keyring_cache_clear()
    return out.getvalue()


def _checks(api, certificate: Certificate, media_root) -> dict:
    """Every way of checking a certificate, as their verdicts."""
    client = api(HOST_A)
    keys = client.get("/.well-known/certificate-keys.json").json()
    verify = _doc_example()["verify_certificate_qr"]
    pdf = (media_root / certificate.file_path).read_bytes()
    status = pades_status(pdf, "".join(root_certificates_pem()))
    return {
        "online": client.get(f"/api/v1/verify/{certificate.code}/").json()["status"],
        "qr": client.post("/api/v1/verify/", {"qr": _qr(certificate)}, format="json").json()[
            "status"
        ],
        "offline": verify(_qr(certificate), keys) is not None,
        "pades": (status.intact, status.valid, status.trusted),
    }


def test_a_certificate_issued_before_a_rotation_still_verifies_everywhere(
    api, certificate, media_root, citizen, agent
):
    before = certificate.key_id
    assert _checks(api, certificate, media_root) == {
        "online": "valid",
        "qr": "valid",
        "offline": True,
        "pades": (True, True, True),
    }

    output = _rotate("--kind", "certificates")

    assert "agence_a" in output
    row = SigningKey.objects.get(kid=before)
    assert row.status == KeyStatus.VERIFYING
    assert _checks(api, certificate, media_root) == {
        "online": "valid",
        "qr": "valid",
        "offline": True,
        "pades": (True, True, True),
    }
    newer = in_state("agence_a", citizen, agent, "approved")
    with schema_context("agence_a"):
        second = certificate_issue(application_id=newer.pk)
    assert second.key_id != before
    assert _checks(api, second, media_root)["offline"] is True
    published = api(HOST_A).get("/.well-known/certificate-keys.json").json()
    assert {key["kid"]: key["status"] for key in published["keys"] if key["kty"] == "EC"} == {
        before: "verifying",
        second.key_id: "active",
    }


def test_a_revoked_key_stops_verifying_until_its_certificates_are_resigned(
    api, certificate, media_root
):
    kid = certificate.key_id
    _rotate("--kind", "certificates", "--revoke", kid)

    revoked = _checks(api, certificate, media_root)
    assert revoked["qr"] == "invalid"
    assert revoked["offline"] is False
    assert revoked["online"] == "valid"  # the agency's record still stands

    out = io.StringIO()
    call_command("certificates_resign", "--kid", kid, stdout=out)
    keyring_cache_clear()
    with schema_context("agence_a"):
        resigned = Certificate.objects.get(pk=certificate.pk)
    assert resigned.key_id != kid
    assert resigned.code == certificate.code
    assert resigned.content_sha256 == certificate.content_sha256
    assert _checks(api, resigned, media_root) == {
        "online": "valid",
        "qr": "valid",
        "offline": True,
        "pades": (True, True, True),
    }
    listed = api(HOST_A).get("/.well-known/certificate-keys.json").json()["keys"]
    assert {"kid": kid, "status": "revoked"}.items() <= next(
        key for key in listed if key["kid"] == kid
    ).items()


def test_each_agency_publishes_only_its_own_keys(api, certificate, agency_b):
    a = api(HOST_A).get("/.well-known/certificate-keys.json").json()
    b = api(HOST_B).get("/.well-known/certificate-keys.json").json()

    kids_a = {key["kid"] for key in a["keys"]}
    kids_b = {key["kid"] for key in b["keys"]}
    assert certificate.key_id in kids_a
    assert not kids_a & kids_b
    assert a["agency"] == "agence-a"
    assert all(len(key.get("x5c", [1, 2])) == 2 for key in a["keys"])


def test_the_root_is_published_on_every_host(api, certificate):
    for host in (PUBLIC_HOST, HOST_A):
        response = api(host).get("/.well-known/guichet-root-ca.pem")
        assert response.status_code == 200
        assert response.content.startswith(b"-----BEGIN CERTIFICATE-----")


def test_the_pdf_signature_is_pades_and_poppler_reads_it(certificate, media_root):
    pdf = (media_root / certificate.file_path).read_bytes()
    status = pades_status(pdf, "".join(root_certificates_pem()))

    assert status.bottom_line
    assert "Agence A" in status.signing_cert.subject.human_friendly
    report = pdfsig(pdf)
    if report is None:
        pytest.skip("poppler-utils (pdfsig) is not installed")
    assert "ETSI.CAdES.detached" in report
    assert "Signature is Valid" in report


def test_a_changed_byte_breaks_the_pdf_signature(certificate, media_root):
    pdf = bytearray((media_root / certificate.file_path).read_bytes())
    index = pdf.index(b"/Title")
    pdf[index + 8] ^= 0x01
    status = pades_status(bytes(pdf), "".join(root_certificates_pem()))
    assert not status.intact


def test_rotation_covers_one_agency_with_its_slug(certificate, agency_b):
    with schema_context("agence_b"):
        from apps.certificates.signing import signing_key

        kid_b = signing_key("agence_b").kid
    _rotate("--kind", "certificates", "--agency", "agence-a")
    assert SigningKey.objects.get(kid=kid_b).status == KeyStatus.ACTIVE
    assert SigningKey.objects.get(kid=certificate.key_id).status == KeyStatus.VERIFYING


def test_webhook_keys_rotate_and_are_published(api):
    first = _rotate("--kind", "webhooks").split(": ")[1].strip()
    second = _rotate("--kind", "webhooks").split(": ")[1].split()[0]
    keys = api(PUBLIC_HOST).get("/.well-known/webhook-keys.json").json()["keys"]
    assert {key["kid"]: key["status"] for key in keys} == {first: "verifying", second: "active"}
    assert all(key["crv"] == "Ed25519" for key in keys)


def test_unknown_kinds_and_agencies_are_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        _rotate("--kind", "jwt", "--agency", "agence-a")
    with pytest.raises(CommandError):
        _rotate("--kind", "certificates", "--agency", "nope")
    with pytest.raises(CommandError):
        call_command("certificates_resign", "--kid", "nope")


def test_a_new_kind_is_one_entry_in_the_table():
    from datetime import timedelta

    from apps.accounts.keyring import KEY_KINDS, KindPolicy, keyring_signing_key, register_kind

    register_kind(KindPolicy("audit-test", "EdDSA", lambda: timedelta(days=1)))
    try:
        output = _rotate("--kind", "audit-test")
        kid = output.split(": ")[1].strip()
        assert keyring_signing_key("audit-test").kid == kid
        assert kid.startswith("audit-test-")
    finally:
        KEY_KINDS.pop("audit-test")


def test_a_first_key_made_in_a_rolled_back_transaction_is_not_kept(agency_a):
    from django.db import transaction

    from apps.certificates.signing import signing_key

    made: list[str] = []

    def failing_job() -> None:
        with transaction.atomic():  # a certificate job that failed after making the first key
            made.append(signing_key("agence_a").kid)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_job()
    [kid] = made
    assert not SigningKey.objects.filter(kid=kid).exists()
    again = signing_key("agence_a")
    assert again.kid != kid
    assert SigningKey.objects.filter(kid=again.kid).exists()
