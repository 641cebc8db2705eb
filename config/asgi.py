"""ASGI entry point: the real-time gateway (WebSocket ``/ws/v1/``) and Django's HTTP views.

Served by uvicorn (``make run``, the compose ``gateway`` service). HTTP requests go to the
same Django application as the WSGI API (the SSE stream ``/api/v1/events/`` is served here
without holding a thread per client); WebSocket connections go to ``apps.realtime``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

# Django first: the consumers import models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
