"""WebSocket routes of the gateway."""

from django.urls import path

from apps.realtime.consumers import GatewayConsumer

websocket_urlpatterns = [
    path("ws/v1/", GatewayConsumer.as_asgi()),
]
