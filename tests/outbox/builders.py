"""Building blocks shared by the outbox, notification, webhook and certificate tests.

Applications are made through the applications app's own services (a simple service with no
required document), so the tests exercise the same paths as the APIs.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django_tenants.utils import schema_context

from apps.accounts.models import Role, User
from apps.applications import services as application_services
from apps.applications.models import Application
from apps.catalogue.models import Service

SERVICE_CODE = "extrait-casier"


def simple_service(schema: str, *, code: str = SERVICE_CODE) -> Service:
    """A published service without required documents (answers: an optional name)."""
    with schema_context(schema):
        service, _ = Service.objects.get_or_create(
            code=code,
            defaults={
                "name_fr": "Extrait de casier judiciaire",
                "name_en": "Criminal record extract",
                "category": "justice",
                "form_schema": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "properties": {"nom": {"type": "string"}},
                    "additionalProperties": False,
                },
                "document_types": [],
                "fee_xof": 0,
                "sla_working_days": 5,
                "is_published": True,
            },
        )
        return service


def advance(schema: str, application_id: Any, action: str, actor: User, role: str, **kw: Any):
    """One transition with the current ETag, in ``schema``."""
    with schema_context(schema):
        current = Application.objects.get(pk=application_id)
        return application_services.application_transition(
            application_id=application_id,
            action=action,
            actor=actor,
            role=role,
            if_match=current.etag,
            **kw,
        )


def submitted(schema: str, citizen: User, *, code: str = SERVICE_CODE) -> Application:
    """A submitted application of ``citizen`` (service made if missing)."""
    simple_service(schema, code=code)
    with schema_context(schema):
        application = application_services.application_create(
            citizen=citizen, service_code=code, form_data={"nom": "Mensah"}
        )
        return application_services.application_submit(
            application_id=application.id, citizen=citizen
        )


def in_state(schema: str, citizen: User, agent: User, status: str) -> Application:
    """An application of ``citizen`` in ``status`` (``agent`` takes and decides it)."""
    application = submitted(schema, citizen)
    if status == "submitted":
        return application
    application = advance(schema, application.id, "take", agent, Role.AGENT)
    if status == "in_review":
        return application
    if status == "info_requested":
        return advance(
            schema, application.id, "request_info", agent, Role.AGENT, reason="Photo floue"
        )
    if status == "approved":
        return advance(schema, application.id, "approve", agent, Role.AGENT)
    assert status == "rejected", status
    return advance(schema, application.id, "reject", agent, Role.AGENT, reason="Incomplet")


# --- A tiny HTTP receiver on loopback --------------------------------------------------------


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver answers (``status``; ``hang`` seconds before answering) and saw."""

    url: str
    status: int = 200
    hang: float = 0.0
    requests: list[Received] = field(default_factory=list)


@contextmanager
def http_receiver(status: int = 200, hang: float = 0.0) -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 (random port) recording POSTs; stopped on exit."""
    state: Receiver = Receiver(url="", status=status, hang=hang)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            if state.hang:
                time.sleep(state.hang)
            payload = json.dumps({"ok": state.status < 300}).encode()
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
