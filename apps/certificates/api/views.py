"""Certificate APIs on an agency host. Thin: parse, one service or selector call, render.

* ``GET /api/v1/verify/{code}/``: anyone, no login: valid or revoked (200), unknown (404).
  The lookup takes the same path whether the code exists or not (see
  ``certificate_get_by_code``), and its answer is cached in the hot-key store for a minute
  (``apps.certificates.verification``).
* ``POST /api/v1/verify/``: anyone: the verdict on a scanned QR text (signature first).
* ``GET /api/v1/certificates/public-key/``: the agency's active certificate key (ES256);
  every key it ever had is at ``/.well-known/certificate-keys.json``.
* ``/api/v1/certificates/``: the holder's own certificates, or every certificate for the
  agency's staff; PDF download; revocation by supervisors and agency administrators.
"""

from __future__ import annotations

import base64
from typing import Any, cast
from uuid import UUID

import structlog
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import storages
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import token_kind
from apps.accounts.models import Role, User
from apps.accounts.permissions import IsAgencyStaff, IsCitizen, staff_with_roles
from apps.accounts.tokens import TokenKind
from apps.certificates import selectors, services
from apps.certificates.api.serializers import (
    CertificateOutputSerializer,
    CertificatePublicKeyOutputSerializer,
    CertificateQRInputSerializer,
    CertificateQRVerdictOutputSerializer,
    CertificateRevokeInputSerializer,
    CertificateVerificationOutputSerializer,
)
from apps.certificates.errors import CertificateNotFound, CertificateUnknown
from apps.certificates.models import Certificate
from apps.certificates.signing import public_key_pem, signing_key
from apps.certificates.verification import verification_lookup
from apps.core.language import in_english
from apps.core.openapi import PROBLEM_RESPONSES, problem
from apps.core.pagination import PageNumberPagination
from apps.core.storage import stored_file_download
from apps.core.tenancy import current_schema
from apps.core.throttling import AgencyRateThrottle, IPRateThrottle

logger = structlog.get_logger(__name__)

NOT_FOUND = {404: problem(_("No such certificate for you in this agency."))}


def _agency_slug(request: Request) -> str:
    tenant = getattr(request, "tenant", None)
    return str(getattr(tenant, "slug", ""))


def verification_body(record: dict[str, Any], agency_slug: str) -> dict[str, Any]:
    """The answer documented by ``CertificateVerificationOutputSerializer``, built directly.

    This is the hottest public endpoint: a serializer instance (deep-copied fields) would cost
    more than the whole cached lookup.
    """
    english = in_english()
    return {
        "status": record["status"],
        "agency": agency_slug,
        "code": record["code"],
        "reference": record["reference"],
        "holder": record["holder"],
        "service_code": record["service_code"],
        "service_name": record["service_name_en" if english else "service_name_fr"],
        "issued_at": record["issued_at"],
        "revoked_at": record["revoked_at"],
        "document_sha256": record["document_sha256"],
        "content_sha256": record["content_sha256"],
        "key_id": record["key_id"],
    }


class JSONOnlyNegotiation(BaseContentNegotiation):
    """These answers exist in JSON only: skip parsing the Accept header (a hot public path)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


class CertificateVerificationViewSet(viewsets.ViewSet):
    """Public verification: no login, no token parsing (every caller is anonymous here)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    content_negotiation_class = JSONOnlyNegotiation
    # Callers are anonymous here: only the per-address and per-agency limits can apply.
    throttle_classes = (IPRateThrottle, AgencyRateThrottle)

    @extend_schema(
        operation_id="certificates_verify",
        summary=_("Verify a certificate by its code"),
        description=_(
            "No login. 200 with `status` valid or revoked, or 404 `certificate_unknown`. "
            "Known and unknown codes take the same time."
        ),
        auth=[],
        responses={
            200: CertificateVerificationOutputSerializer,
            404: problem(_("No certificate of this agency has this code (certificate_unknown).")),
            429: PROBLEM_RESPONSES[429],
        },
        tags=["certificates"],
    )
    def retrieve(self, request: Request, code: str) -> Response:
        record = verification_lookup(code=code)
        if record is None:
            raise CertificateUnknown()
        body = verification_body(record, _agency_slug(request))
        return Response(body, headers={"Cache-Control": "no-store"})

    @extend_schema(
        operation_id="certificates_verify_qr",
        summary=_("Verify a scanned QR code"),
        description=_(
            "Checks the signature of the QR payload with the key of this agency that it names "
            "(`k`, also a key demoted by a rotation), then the agency's record: `valid`, "
            "`revoked`, `invalid` (tampered, not signed by this agency, or by a revoked key) or "
            "`unknown` (well signed, no record)."
        ),
        auth=[],
        request=CertificateQRInputSerializer,
        responses={
            200: CertificateQRVerdictOutputSerializer,
            400: PROBLEM_RESPONSES[400],
            429: PROBLEM_RESPONSES[429],
        },
        examples=[
            OpenApiExample(
                "Tampered QR",
                value={"status": "invalid", "payload": None, "certificate": None},
                response_only=True,
            )
        ],
        tags=["certificates"],
    )
    def check(self, request: Request) -> Response:
        data = CertificateQRInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = services.certificate_verify_qr(qr_text=data.validated_data["qr"])
        record = verification.record
        body = {
            "status": verification.status,
            "payload": verification.payload if verification.status != "invalid" else None,
            "certificate": (
                verification_body(record, _agency_slug(request)) if record is not None else None
            ),
        }
        return Response(body, headers={"Cache-Control": "no-store"})

    @extend_schema(
        operation_id="certificates_public_key",
        summary=_("The agency's certificate signing key (public half)"),
        description=_("Verify QR payloads offline with it: see docs/certificates.md."),
        auth=[],
        responses={200: CertificatePublicKeyOutputSerializer, 429: PROBLEM_RESPONSES[429]},
        tags=["certificates"],
    )
    def public_key(self, request: Request) -> Response:
        key = signing_key(current_schema())
        der = key.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = {
            "agency": _agency_slug(request),
            "algorithm": key.algorithm,
            "key_id": key.kid,
            "public_key": base64.b64encode(der).decode("ascii"),
            "public_key_pem": public_key_pem(key.public_key),
        }
        return Response(CertificatePublicKeyOutputSerializer(body).data)


class IsCitizenOrStaff(BasePermission):
    """A citizen (their own certificates) or any member of this agency."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return IsCitizen().has_permission(request, view) or IsAgencyStaff().has_permission(
            request, view
        )


def _is_staff(request: Request) -> bool:
    return token_kind(request.auth) is TokenKind.STAFF


class CertificateViewSet(viewsets.ViewSet):
    """Issued certificates: the holder's own, or the agency's for its staff."""

    permission_classes = (IsCitizenOrStaff,)
    pagination_class = PageNumberPagination

    def get_permissions(self) -> list[Any]:
        if self.action == "revoke":
            return [staff_with_roles(Role.SUPERVISOR, Role.AGENCY_ADMIN)()]
        return list(super().get_permissions())

    def _visible(self, request: Request) -> Any:
        if _is_staff(request):
            return selectors.certificate_list()
        return selectors.certificate_list_for_citizen(citizen_id=cast(User, request.user).pk)

    def _get(self, request: Request, pk: UUID) -> Certificate:
        certificate = self._visible(request).filter(pk=pk).first()
        if certificate is None:
            raise CertificateNotFound()
        return cast(Certificate, certificate)

    @extend_schema(
        operation_id="certificates_list",
        summary=_("Certificates: mine (citizen) or the agency's (staff)"),
        responses={200: CertificateOutputSerializer(many=True), **PROBLEM_RESPONSES},
        tags=["certificates"],
    )
    def list(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page: list[Any] | None = paginator.paginate_queryset(
            self._visible(request), request, view=self
        )
        return paginator.get_paginated_response(CertificateOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="certificates_retrieve",
        summary=_("One certificate"),
        responses={200: CertificateOutputSerializer, **NOT_FOUND, **PROBLEM_RESPONSES},
        tags=["certificates"],
    )
    def retrieve(self, request: Request, pk: UUID) -> Response:
        return Response(CertificateOutputSerializer(self._get(request, pk)).data)

    @extend_schema(
        operation_id="certificates_download",
        summary=_("Download the signed PDF"),
        responses={
            200: OpenApiResponse(response=OpenApiTypes.BINARY, description=_("The PDF.")),
            302: OpenApiResponse(
                description=_(
                    "Redirect (Location) to a short-lived signed URL of the object store "
                    "(STORAGE_S3_DOWNLOADS=redirect)."
                )
            ),
            **NOT_FOUND,
            **PROBLEM_RESPONSES,
        },
        tags=["certificates"],
    )
    def download(self, request: Request, pk: UUID) -> HttpResponseBase:
        certificate = self._get(request, pk)
        try:
            response = stored_file_download(
                storages["default"],
                certificate.file_path,
                filename=f"{certificate.reference or certificate.pk}.pdf",
                content_type="application/pdf",
            )
        except FileNotFoundError:
            logger.error("certificate_file_missing", certificate_id=str(certificate.pk))
            raise CertificateNotFound() from None
        except SuspiciousFileOperation:  # a name outside this agency's prefix: never served
            logger.error("certificate_outside_agency", certificate_id=str(certificate.pk))
            raise CertificateNotFound() from None
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(
        operation_id="certificates_revoke",
        summary=_("Revoke a certificate (supervisors, agency administrators)"),
        request=CertificateRevokeInputSerializer,
        responses={
            200: CertificateOutputSerializer,
            409: problem(_("Already revoked (certificate_already_revoked).")),
            **NOT_FOUND,
            **PROBLEM_RESPONSES,
        },
        tags=["certificates"],
    )
    def revoke(self, request: Request, pk: UUID) -> Response:
        data = CertificateRevokeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = services.certificate_revoke(
            certificate_id=pk, actor=cast(User, request.user), reason=data.validated_data["reason"]
        )
        return Response(CertificateOutputSerializer(certificate).data)
