"""Directory routes (public host)."""

from django.urls import path

from apps.directory.api.views import CatalogueViewSet, PublicAgencyViewSet

urlpatterns = [
    path("agencies/", PublicAgencyViewSet.as_view({"get": "list"}), name="agencies"),
    path("catalogue/", CatalogueViewSet.as_view({"get": "list"}), name="catalogue"),
]
