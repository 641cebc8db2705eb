"""Application routes: ``tenant_urlpatterns`` on agency hosts, ``public_urlpatterns`` on the
public host (both mounted under ``/api/v1/``)."""

from django.urls import path

from apps.applications.api.views import (
    CitizenApplicationViewSet,
    MyApplicationViewSet,
    StaffApplicationViewSet,
)

citizen = CitizenApplicationViewSet.as_view
staff = StaffApplicationViewSet.as_view

tenant_urlpatterns = [
    path(
        "applications/",
        citizen({"get": "list", "post": "create"}),
        name="applications",
    ),
    path(
        "applications/<uuid:pk>/",
        citizen({"get": "retrieve", "patch": "partial_update"}),
        name="application",
    ),
    path(
        "applications/<uuid:pk>/submit/",
        citizen({"post": "submit"}),
        name="application-submit",
    ),
    path(
        "applications/<uuid:pk>/withdraw/",
        citizen({"post": "withdraw"}),
        name="application-withdraw",
    ),
    path(
        "applications/<uuid:pk>/answer-info/",
        citizen({"post": "answer_info"}),
        name="application-answer-info",
    ),
    path(
        "applications/<uuid:pk>/attachments/",
        citizen({"post": "upload"}),
        name="application-attachments",
    ),
    path(
        "applications/<uuid:pk>/attachments/<uuid:attachment_pk>/",
        citizen({"get": "download", "delete": "remove_attachment"}),
        name="application-attachment",
    ),
    path(
        "staff/applications/",
        staff({"get": "list"}),
        name="staff-applications",
    ),
    path(
        "staff/applications/<uuid:pk>/",
        staff({"get": "retrieve"}),
        name="staff-application",
    ),
    *[
        path(
            f"staff/applications/<uuid:pk>/{segment}/",
            staff({"post": action}),
            name=f"staff-application-{segment}",
        )
        for segment, action in (
            ("take", "take"),
            ("assign", "assign"),
            ("reassign", "reassign"),
            ("request-info", "request_info"),
            ("approve", "approve"),
            ("reject", "reject"),
            ("close", "close"),
            ("notes", "add_note"),
        )
    ],
    path(
        "staff/applications/<uuid:pk>/attachments/<uuid:attachment_pk>/",
        staff({"get": "download"}),
        name="staff-application-attachment",
    ),
]

public_urlpatterns = [
    path("me/applications/", MyApplicationViewSet.as_view({"get": "list"}), name="me-applications"),
]
