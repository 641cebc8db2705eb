"""Audit routes of an agency host, mounted under ``api/v1/audit/``."""

from django.urls import path

from apps.audit.api.views import AuditEventViewSet, AuditExportViewSet, AuditPublicKeyViewSet

urlpatterns = [
    path("events/", AuditEventViewSet.as_view({"get": "list"}), name="audit-events"),
    path("export/", AuditExportViewSet.as_view({"get": "export"}), name="audit-export"),
    path(
        "public-key/", AuditPublicKeyViewSet.as_view({"get": "retrieve"}), name="audit-public-key"
    ),
]
