"""Audit routes of an agency host, mounted under ``api/v1/audit/``."""

from django.urls import path

from apps.audit.api.views import (
    AuditConsistencyViewSet,
    AuditEventViewSet,
    AuditExportViewSet,
    AuditInclusionViewSet,
    AuditKeyViewSet,
    AuditPublicKeyViewSet,
    AuditTreeHeadViewSet,
)

urlpatterns = [
    path("events/", AuditEventViewSet.as_view({"get": "list"}), name="audit-events"),
    path("export/", AuditExportViewSet.as_view({"get": "export"}), name="audit-export"),
    path(
        "events/<uuid:event_id>/inclusion/",
        AuditInclusionViewSet.as_view({"get": "retrieve"}),
        name="audit-inclusion-proof",
    ),
    path("tree-head/", AuditTreeHeadViewSet.as_view({"get": "retrieve"}), name="audit-tree-head"),
    path(
        "consistency/",
        AuditConsistencyViewSet.as_view({"get": "retrieve"}),
        name="audit-consistency-proof",
    ),
    path("keys/", AuditKeyViewSet.as_view({"get": "list"}), name="audit-keys"),
    path(
        "public-key/", AuditPublicKeyViewSet.as_view({"get": "retrieve"}), name="audit-public-key"
    ),
]
