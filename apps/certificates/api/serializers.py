"""Certificate API serializers: input (strict) and output, one class per shape."""

from __future__ import annotations

from rest_framework import serializers

from apps.certificates.models import Certificate
from apps.core.serializers import StrictInputSerializer


class CertificateVerificationOutputSerializer(serializers.Serializer):
    """What anyone with a verification code learns (GET /verify/{code}/).

    Documentation of the answer: the view builds it directly (``verification_body``).
    """

    status = serializers.ChoiceField(choices=["valid", "revoked"])
    agency = serializers.CharField(help_text="The agency's slug.")
    code = serializers.CharField()
    reference = serializers.CharField()
    holder = serializers.CharField(help_text="The holder's name, as printed.")
    service_code = serializers.CharField()
    service_name = serializers.CharField(help_text="In the caller's language.")
    issued_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    document_sha256 = serializers.CharField(help_text="SHA-256 (hex) of the PDF as issued.")
    content_sha256 = serializers.CharField(help_text="The signed content hash (QR key `s`).")
    key_id = serializers.CharField(help_text="Which agency key signed it (QR key `k`).")


class CertificateQRInputSerializer(StrictInputSerializer):
    """A QR code's text, as scanned."""

    qr = serializers.CharField(
        max_length=4096,
        trim_whitespace=True,
        help_text="The QR text: the verification URL followed by '#' and the signed token, "
        "or the token alone.",
    )


class CertificateQRVerdictOutputSerializer(serializers.Serializer):
    """The verdict on a scanned QR code."""

    status = serializers.ChoiceField(choices=["valid", "revoked", "invalid", "unknown"])
    payload = serializers.DictField(
        allow_null=True, help_text="The signed fields, when the signature holds."
    )
    certificate = CertificateVerificationOutputSerializer(allow_null=True)


class CertificatePublicKeyOutputSerializer(serializers.Serializer):
    """The agency's certificate signing key, public half."""

    agency = serializers.CharField()
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    public_key = serializers.CharField(help_text="The 32 raw bytes of the key, base64.")
    public_key_pem = serializers.CharField(help_text="SubjectPublicKeyInfo PEM.")


class CertificateOutputSerializer(serializers.ModelSerializer):
    """A certificate as its holder and the agency's staff see it."""

    application = serializers.UUIDField(source="application_id")
    document_sha256 = serializers.CharField(source="sha256")

    class Meta:
        model = Certificate
        fields = (
            "id",
            "application",
            "code",
            "reference",
            "holder_name",
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


class CertificateRevokeInputSerializer(StrictInputSerializer):
    """Why the certificate is withdrawn."""

    reason = serializers.CharField(max_length=2000, trim_whitespace=True)
