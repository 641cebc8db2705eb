"""Test-only endpoints behind the default throttles (DEFAULT_THROTTLE_CLASSES)."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response


class PingViewSet(viewsets.ViewSet):
    """GET → 200 {"ok": true}; anyone, with or without a token."""

    permission_classes = (AllowAny,)

    def list(self, request: Request) -> Response:
        return Response({"ok": True})


class ScopedPingViewSet(PingViewSet):
    """GET → 200, behind only the scoped throttle (scope ``ping``)."""

    throttle_scope = "ping"

    def get_throttles(self) -> list:
        from apps.core.throttling import ScopedHotKeyRateThrottle

        return [ScopedHotKeyRateThrottle()]


class UnscopedPingViewSet(ScopedPingViewSet):
    """The scoped throttle on a view that names no scope: nothing is counted."""

    throttle_scope = ""
