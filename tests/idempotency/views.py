"""A test-only endpoint that creates something (an audit event) and can be told to misbehave."""

from __future__ import annotations

import threading
import time

from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput
from apps.idempotency.decorators import idempotent

ACTION = "test.thing_created"
calls = {"count": 0}
_lock = threading.Lock()


class ThingViewSet(viewsets.ViewSet):
    """POST {"name", "sleep"?, "fail"?: "raise" | "return"} → 201 {"id", "name"}."""

    permission_classes = (AllowAny,)

    @idempotent(scope="test_thing", required=True)
    def create(self, request: Request) -> Response:
        with _lock:
            calls["count"] += 1
        name = str(request.data.get("name", ""))
        if request.data.get("fail") == "raise":
            audit_record(action=ACTION, target_type="thing", target_id=name)
            raise InvalidInput("refused", errors={"name": ["refused"]})
        if request.data.get("fail") == "return":
            audit_record(action=ACTION, target_type="thing", target_id=name)
            return Response({"detail": "refused"}, status=status.HTTP_400_BAD_REQUEST)
        time.sleep(float(request.data.get("sleep", 0)))
        event = audit_record(action=ACTION, target_type="thing", target_id=name)
        return Response({"id": str(event.id), "name": name}, status=status.HTTP_201_CREATED)

    @idempotent(scope="test_optional", required=False)
    def optional(self, request: Request) -> Response:
        with _lock:
            calls["count"] += 1
        return Response({"n": calls["count"]}, status=status.HTTP_201_CREATED)
