"""Fixtures of the payment tests: the aggregator simulator on loopback, a fee-charging service
in agencies A and B, applications waiting for their payment, callbacks delivered for real."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.agencies.models import Agency
from apps.applications import services as application_services
from apps.applications.models import Application
from apps.catalogue.models import Service
from apps.payments.models import ExemptionCategory, Payment, PaymentPolicy
from apps.payments.simulator import AggregatorSimulator
from tests.conftest import HOST_A

TOKEN = "guichet-test-aggregator-token"
SECRET = "guichet-test-callback-secret"
FEE = 1500
CALLBACK = "/api/v1/payments/callback/"
# The simulator listens in this helper's port range; a busy port falls back to any free one.
SIMULATOR_PORTS = range(9710, 9720)


def _free_port() -> int:
    for port in SIMULATOR_PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return 0


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[AggregatorSimulator]:
    """One simulator for the whole run (reset before each test)."""
    simulator = AggregatorSimulator(port=_free_port(), token=TOKEN, secret=SECRET).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(simulator_server: AggregatorSimulator, settings: Any) -> AggregatorSimulator:
    """The simulator, reset, waiting for explicit confirmations; Django pointed at it."""
    simulator_server.reset()
    simulator_server.behaviour.update({"confirm_after": None, "sleep_seconds": 1.0})
    settings.PAYMENTS_AGGREGATOR_URL = simulator_server.url
    return simulator_server


def fee_service(schema: str, *, code: str = "legalisation", fee: int = FEE) -> Service:
    """A published service with a fee, no form fields and no required document."""
    with schema_context(schema):
        return Service.objects.create(
            code=code,
            name_fr="Légalisation de signature",
            name_en="Signature legalisation",
            category="legalisation",
            form_schema={
                "type": "object",
                "properties": {"motif": {"type": "string", "title": "Motif"}},
                "additionalProperties": False,
            },
            document_types=[],
            fee_xof=fee,
            sla_working_days=3,
            is_published=True,
        )


def collect_online(schema: str, **fields: bool) -> None:
    with schema_context(schema):
        PaymentPolicy.objects.update_or_create(
            singleton=True, defaults={"collects_online": True, **fields}
        )


def awaiting(schema: str, citizen: User, *, code: str = "legalisation") -> Application:
    """A submitted application of the fee service, waiting for its payment."""
    with schema_context(schema):
        application = application_services.application_create(
            citizen=citizen, service_code=code, form_data={}
        )
        return application_services.application_submit(
            application_id=application.id, citizen=citizen
        )


@pytest.fixture
def setup_a(db: None, agency_a: Agency) -> Service:
    collect_online(agency_a.schema_name)
    return fee_service(agency_a.schema_name)


@pytest.fixture
def setup_b(db: None, agency_b: Agency) -> Service:
    collect_online(agency_b.schema_name)
    return fee_service(agency_b.schema_name)


@pytest.fixture
def exemption_category(agency_a: Agency) -> ExemptionCategory:
    with schema_context(agency_a.schema_name):
        return ExemptionCategory.objects.create(
            code="indigence", label_fr="Certificat d'indigence", label_en="Indigence certificate"
        )


@pytest.fixture
def pay(
    api: Callable[..., APIClient], tokens: Any, django_capture_on_commit_callbacks: Any
) -> Callable[..., Any]:
    """``pay(citizen, application, key=..., host=HOST_A)``: POST the payment, run its after-commit
    work (the request to the provider) like a real request would."""

    def start(
        citizen: User,
        application: Application,
        *,
        key: str = "pay-1",
        host: str = HOST_A,
        body: dict[str, Any] | None = None,
    ) -> Any:
        client = api(host, tokens(citizen).access)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/applications/{application.id}/payments/",
                body or {"network": "tmoney", "phone": "+22890123456"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=key,
            )
        connection.set_schema_to_public()
        return response

    return start


@pytest.fixture
def deliver(
    api: Callable[..., APIClient], django_capture_on_commit_callbacks: Any
) -> Callable[..., list[Any]]:
    """``deliver(simulator, host=HOST_A)``: POST every callback the simulator emitted to Django
    (signature headers and body exactly as the simulator made them)."""

    def run(simulator: AggregatorSimulator, *, host: str = HOST_A) -> list[Any]:
        responses = []
        for callback in simulator.drain_callbacks():
            client = api(host)
            with django_capture_on_commit_callbacks(execute=True):
                responses.append(
                    client.generic(
                        "POST",
                        CALLBACK,
                        callback["body"],
                        content_type="application/json",
                        HTTP_X_PAYMENT_SIGNATURE=callback["headers"]["X-Payment-Signature"],
                    )
                )
            connection.set_schema_to_public()
        return responses

    return run


def payment_of(schema: str, application: Application) -> Payment:
    with schema_context(schema):
        return Payment.objects.get(application_id=application.id)


def body_of(response: Any) -> Any:
    return json.loads(response.content)
