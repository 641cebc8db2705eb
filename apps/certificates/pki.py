"""The platform certification authority and the X.509 certificates of agencies' signing keys.

Every deployment makes its own root (key ring kind ``ca``, ECDSA P-256, self-signed, made on
first use or by ``manage.py keys_rotate --kind ca --if-missing``). Each agency's certificate
signing key (kind ``certificates``, scope = the agency's schema) gets an X.509 certificate
issued by the active root when the key is made, so the PAdES signature inside each PDF names
the agency and chains to the published root (``/.well-known/guichet-root-ca.pem`` on every
host, and every root the ring ever had in ``/.well-known/certificate-keys.json``).

Hooks named by ``apps.accounts.keyring.KEY_KINDS``: ``root_self_sign``, ``agency_key_certify``,
``certificate_key_scopes``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

ROOT_YEARS = 30
AGENCY_CERTIFICATE_YEARS = 30


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TG"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def root_name() -> str:
    """The common name of the platform root (``CERTIFICATE_CA_NAME``)."""
    return str(getattr(settings, "CERTIFICATE_CA_NAME", "") or "Guichet Root CA")


def root_self_sign(row: Any, private_key: Any) -> None:
    """Hook of kind ``ca``: give a new root key its self-signed certificate."""
    name = _name(f"{root_name()} {row.created_at:%Y-%m}", root_name())
    public = private_key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(row.created_at - timedelta(minutes=5))
        .not_valid_after(row.created_at + timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private_key, hashes.SHA256())
    )
    row.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def agency_key_certify(row: Any, private_key: Any) -> None:
    """Hook of kind ``certificates``: the platform CA certifies a new agency signing key."""
    from apps.accounts.keyring import keyring_signing_key
    from apps.agencies.models import Agency

    ca = keyring_signing_key("ca")
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    agency = Agency.objects.filter(schema_name=row.scope).first()
    organisation = agency.name_fr if agency is not None else row.scope
    public = private_key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, organisation))
        .issuer_name(ca_certificate.subject)
        .public_key(public)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(row.created_at - timedelta(minutes=5))
        .not_valid_after(
            min(
                row.created_at + timedelta(days=365 * AGENCY_CERTIFICATE_YEARS),
                ca_certificate.not_valid_after_utc,
            )
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key), critical=False
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    row.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_key_scopes() -> list[str]:
    """Every agency schema (a rotation of kind ``certificates`` without ``--agency``)."""
    from apps.agencies.models import Agency

    return list(Agency.objects.order_by("schema_name").values_list("schema_name", flat=True))


def root_certificates_pem() -> list[str]:
    """Every root the platform ever had that was not revoked, newest first (PEM)."""
    from apps.accounts.keyring import keyring_signing_key
    from apps.accounts.models import KeyStatus, SigningKey

    keyring_signing_key("ca")  # the first root exists once anyone asks
    rows = (
        SigningKey.objects.filter(kind="ca", scope="")
        .exclude(status=KeyStatus.RETIRED)
        .order_by("-created_at")
    )
    return [row.certificate_pem for row in rows if row.certificate_pem]
