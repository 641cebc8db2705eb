"""Public catalogue routes (agency hosts)."""

from django.urls import path

from apps.catalogue.api.views import ServiceViewSet

urlpatterns = [
    path("services/", ServiceViewSet.as_view({"get": "list"}), name="services"),
    path(
        "services/<slug:code>/", ServiceViewSet.as_view({"get": "retrieve"}), name="service-detail"
    ),
]
