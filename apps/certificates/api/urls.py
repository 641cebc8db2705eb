"""Certificate routes on agency hosts (mounted under ``/api/v1/``)."""

from django.urls import path

from apps.certificates.api.views import CertificateVerificationViewSet, CertificateViewSet

verification = CertificateVerificationViewSet.as_view
certificates = CertificateViewSet.as_view

urlpatterns = [
    path("verify/", verification({"post": "check"}), name="certificate-verify-qr"),
    path("verify/<str:code>/", verification({"get": "retrieve"}), name="certificate-verify"),
    path(
        "certificates/public-key/",
        verification({"get": "public_key"}),
        name="certificate-public-key",
    ),
    path("certificates/", certificates({"get": "list"}), name="certificates"),
    path("certificates/<uuid:pk>/", certificates({"get": "retrieve"}), name="certificate"),
    path(
        "certificates/<uuid:pk>/download/",
        certificates({"get": "download"}),
        name="certificate-download",
    ),
    path(
        "certificates/<uuid:pk>/revoke/",
        certificates({"post": "revoke"}),
        name="certificate-revoke",
    ),
]
