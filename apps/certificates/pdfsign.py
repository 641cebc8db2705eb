"""The PAdES signature inside each certificate PDF (pyHanko).

PAdES baseline B-B (ETSI EN 319 142-1): a CAdES detached signature (``ETSI.CAdES.detached``)
by the agency's certificate key (ECDSA P-256, SHA-256), whose X.509 certificate is issued by
the platform CA (``apps.certificates.pki``); the signing certificate and the root are embedded
in the signature so a reader that trusts the published root shows who signed and that the
document was not changed since. No timestamp authority is called (B-T would need one).
"""

from __future__ import annotations

import io
from typing import Any

import structlog
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = structlog.get_logger(__name__)

FIELD_NAME = "GuichetSignature"


def _asn1_certificate(pem: str) -> asn1_x509.Certificate:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def issuer_pem(certificate_pem: str) -> str:
    """The PEM of the CA key that issued ``certificate_pem`` (the ring keeps every root)."""
    from apps.accounts.models import SigningKey

    issued = x509.load_pem_x509_certificate(certificate_pem.encode())
    for row in SigningKey.objects.filter(kind="ca").exclude(certificate_pem=""):
        root = x509.load_pem_x509_certificate(row.certificate_pem.encode())
        if root.subject == issued.issuer:
            try:
                issued.verify_directly_issued_by(root)
            except (ValueError, TypeError, InvalidSignature):
                logger.info("certificate_issuer_mismatch", kid=row.kid)
                continue
            return row.certificate_pem
    return ""


def sign_pdf(
    pdf: bytes, *, key: Any, reason: str, location: str, signer_name: str, root_pem: str = ""
) -> bytes:
    """``pdf`` with a PAdES B-B signature by ``key`` (a ring key with its certificate)."""
    private_der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    root = root_pem or issuer_pem(key.certificate_pem)
    chain = [_asn1_certificate(root)] if root else []
    signer = SimpleSigner(
        signing_cert=_asn1_certificate(key.certificate_pem),
        signing_key=asn1_keys.PrivateKeyInfo.load(private_der),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=signer_name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = signers.PdfSigner(metadata, signer=signer).sign_pdf(writer)
    data: bytes = output.getvalue()
    return data
