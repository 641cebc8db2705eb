"""Certificate API serializers: input (strict) and output, one class per shape."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.certificates.models import Certificate
from apps.core.serializers import StrictInputSerializer


class CertificateVerificationOutputSerializer(serializers.Serializer):
    """What anyone with a verification code learns (GET /verify/{code}/).

    Documentation of the answer: the view builds it directly (``verification_body``).
    """

    status = serializers.ChoiceField(
        choices=["valid", "revoked"], help_text=_("`valid`, or `revoked` by the agency.")
    )
    agency = serializers.CharField(help_text=_("The agency's slug."))
    code = serializers.CharField(help_text=_("The verification code printed on the certificate."))
    reference = serializers.CharField(
        help_text=_("Reference of the application it was issued for (e.g. EC-2026-000123).")
    )
    holder = serializers.CharField(help_text=_("The holder's name, as printed."))
    service_code = serializers.CharField(help_text=_("Code of the service that issued it."))
    service_name = serializers.CharField(help_text=_("In the caller's language."))
    issued_at = serializers.DateTimeField(help_text=_("When it was issued."))
    revoked_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When it was revoked; null while valid.")
    )
    document_sha256 = serializers.CharField(help_text=_("SHA-256 (hex) of the PDF as issued."))
    content_sha256 = serializers.CharField(help_text=_("The signed content hash (QR key `s`)."))
    key_id = serializers.CharField(help_text=_("Which agency key signed it (QR key `k`)."))


class CertificateQRInputSerializer(StrictInputSerializer):
    """A QR code's text, as scanned."""

    qr = serializers.CharField(
        max_length=4096,
        trim_whitespace=True,
        help_text=_(
            "The QR text: the verification URL followed by '#' and the signed token, "
            "or the token alone."
        ),
    )


class CertificateQRVerdictOutputSerializer(serializers.Serializer):
    """The verdict on a scanned QR code."""

    status = serializers.ChoiceField(
        choices=["valid", "revoked", "invalid", "unknown"],
        help_text=_(
            "`valid`; `revoked`; `invalid` (the signature does not hold: a forgery or a damaged "
            "code) or `unknown` (signed by this agency but not found here)."
        ),
    )
    payload = serializers.DictField(
        allow_null=True, help_text=_("The signed fields, when the signature holds.")
    )
    certificate = CertificateVerificationOutputSerializer(
        allow_null=True, help_text=_("The certificate, when it is found; null otherwise.")
    )


class CertificatePublicKeyOutputSerializer(serializers.Serializer):
    """The agency's certificate signing key, public half."""

    agency = serializers.CharField(help_text=_("The agency's slug."))
    algorithm = serializers.CharField(
        help_text=_("ES256 (ECDSA P-256 with SHA-256) for the key ring's keys.")
    )
    key_id = serializers.CharField(
        help_text=_(
            "Identifier of the active key (QR key `k`); every key the agency ever had is listed "
            "at /.well-known/certificate-keys.json."
        )
    )
    public_key = serializers.CharField(help_text=_("The key's SubjectPublicKeyInfo DER, base64."))
    public_key_pem = serializers.CharField(help_text=_("SubjectPublicKeyInfo PEM."))


class CertificateOutputSerializer(serializers.ModelSerializer):
    """A certificate as its holder and the agency's staff see it."""

    application = serializers.UUIDField(
        source="application_id", help_text=_("The application it was issued for.")
    )
    document_sha256 = serializers.CharField(
        source="sha256", help_text=_("SHA-256 (hex) of the PDF as issued.")
    )
    document_version = serializers.IntegerField(
        source="definition.version",
        allow_null=True,
        default=None,
        help_text=_(
            "Version of the service's document definition it was issued under (null for "
            "certificates issued before definitions)."
        ),
    )

    class Meta:
        model = Certificate
        fields = (
            "id",
            "application",
            "code",
            "reference",
            "holder_name",
            "requester_name",
            "language",
            "document_version",
            "service_code",
            "service_name_fr",
            "service_name_en",
            "issued_at",
            "status",
            "revoked_at",
            "document_sha256",
            "content_sha256",
            "key_id",
        )
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": _("The certificate's identifier.")},
            "code": {"help_text": _("The verification code printed on the certificate.")},
            "reference": {
                "help_text": _(
                    "Reference of the application it was issued for (e.g. EC-2026-000123)."
                )
            },
            "holder_name": {"help_text": _("The person concerned (e.g. the child), as printed.")},
            "requester_name": {
                "help_text": _(
                    "Who asked for it, as printed, when not the person concerned (else empty)."
                )
            },
            "language": {"help_text": _("Language of the document: fr or en.")},
            "service_code": {"help_text": _("Code of the service that issued it.")},
            "service_name_fr": {"help_text": _("Name of the service in French.")},
            "service_name_en": {"help_text": _("Name of the service in English.")},
            "issued_at": {"help_text": _("When it was issued.")},
            "status": {"help_text": _("`valid`, or `revoked` by the agency.")},
            "revoked_at": {"help_text": _("When it was revoked; null while valid.")},
            "content_sha256": {"help_text": _("The signed content hash (QR key `s`).")},
            "key_id": {"help_text": _("Which agency key signed it (QR key `k`).")},
        }


class CertificateRevokeInputSerializer(StrictInputSerializer):
    """Why the certificate is withdrawn."""

    reason = serializers.CharField(
        max_length=2000,
        trim_whitespace=True,
        help_text=_("Why it is withdrawn; told to the holder and kept in the audit trail."),
    )
