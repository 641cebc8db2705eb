"""The SSE fallback of the gateway: ``/api/v1/events/`` on agency hosts and the public host."""

from django.urls import path

from apps.realtime.api.views import EventStreamViewSet

urlpatterns = [
    path("events/", EventStreamViewSet.as_view({"get": "stream"}), name="realtime-events"),
]
