"""Published key material, plain JSON / PEM without authentication (docs/keys.md).

* ``/.well-known/certificate-keys.json`` (agency hosts): every certificate key the agency ever
  had, with its status and dates, as JWKs with their X.509 chain (``x5c``): a certificate
  issued before a rotation names its key (``k`` in the QR payload, the PAdES signer) and is
  checked against it. Revoked keys stay listed with ``status: revoked`` so verifiers know to
  refuse them. The pre-key-ring derived key is listed as ``legacy`` while it is configured.
* ``/.well-known/guichet-root-ca.pem`` (every host): the platform roots (PEM, newest first).
* ``/.well-known/webhook-keys.json`` (every host): the webhook signing keys and their history.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from apps.accounts.keyring import LoadedKey, _load, key_as_jwk, keyring_history
from apps.accounts.models import KeyStatus, SigningKey
from apps.certificates.pki import root_certificates_pem
from apps.certificates.signing import (
    KIND,
    b64url_encode,
    key_id,
    legacy_configured,
    legacy_public_key,
    public_key_raw,
    signing_key,
)
from apps.core.tenancy import current_schema

MAX_AGE_SECONDS = 300


def _der_b64(pem: str) -> str:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def _status(row: SigningKey) -> str:
    # A retired certificate key was revoked (its window is decades long): say so plainly.
    return "revoked" if row.status == KeyStatus.RETIRED else str(row.status)


def key_entry(row: SigningKey, *, chain: list[str] | None = None) -> dict[str, Any]:
    """One key of the history as published: JWK, status, dates, X.509 chain."""
    loaded: LoadedKey = _load(row, with_private=False)
    entry = key_as_jwk(loaded)
    entry.update(
        status=_status(row),
        created_at=row.created_at.isoformat(),
        verify_until=row.verify_until.isoformat() if row.verify_until else None,
        retired_at=row.retired_at.isoformat() if row.retired_at else None,
    )
    if row.certificate_pem:
        entry["x5c"] = [_der_b64(pem) for pem in [row.certificate_pem, *(chain or [])]]
    return entry


def _json(body: dict[str, Any]) -> HttpResponse:
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def certificate_keys(request: HttpRequest) -> HttpResponse:
    """Every certificate key of this agency (its history), newest last."""
    from apps.certificates.pdfsign import issuer_pem

    schema = current_schema()
    signing_key(schema)  # the first key exists once anyone asks
    keys = []
    for row in keyring_history(KIND, scope=schema):
        root = issuer_pem(row.certificate_pem) if row.certificate_pem else ""
        keys.append(key_entry(row, chain=[root] if root else []))
    if legacy_configured():
        legacy = legacy_public_key(schema)
        keys.append(
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64url_encode(public_key_raw(legacy)),
                "kid": key_id(legacy),
                "alg": "EdDSA",
                "use": "sig",
                "status": "legacy",
            }
        )
    tenant = getattr(request, "tenant", None)
    return _json({"agency": getattr(tenant, "slug", ""), "keys": keys})


@require_GET
def root_ca(request: HttpRequest) -> HttpResponse:
    """The platform roots, PEM."""
    response = HttpResponse("".join(root_certificates_pem()), content_type="application/x-pem-file")
    response["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    return response


@require_GET
def webhook_keys(request: HttpRequest) -> HttpResponse:
    """The webhook signing keys: the active one, demoted ones still published, the history."""
    from apps.accounts.keyring import keyring_signing_key

    keyring_signing_key("webhooks")
    return _json({"keys": [key_entry(row) for row in keyring_history("webhooks")]})
