"""Schemathesis over every operation of both published schemas (issue 11, item 2).

Quick profile (part of ``make test``): for each operation of ``schema.yml`` (agency A's host)
and ``schema-public.yml`` (the public host), the explicit examples, the coverage phase (edge
and invalid values of every parameter and body, unexpected methods) and a few fuzzed cases,
sent in-process to the WSGI application over the real PostgreSQL test database, each case
with the next of four bearer tokens (citizen, agent, partner, platform). Checks: no 5xx, every
status declared, every body and media type as declared. A published service exists in agency
A, and every other draft created names it with valid answers, so that the calls reach past
"no such service".

``make fuzz`` (``GUICHET_FUZZ=deep``) runs the same with many more fuzzed cases, a random
seed, and the stateful walk through the OpenAPI links (create → attach → submit → take →
decide), each step with the token of the role that may take it.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from schemathesis.config import SchemathesisConfig

from apps.accounts.models import Role
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind, issue_partner_token
from tests.applications.conftest import DOCUMENT_TYPES, VALID_FORM, service_create
from tests.conftest import HOST_A, PUBLIC_HOST

ROOT = Path(__file__).resolve().parents[2]
DEEP = os.environ.get("GUICHET_FUZZ") == "deep"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)
SERVICE_CODE = "fuzz-acte"
# The stateful walk: the operations of an application's life (the others have their own phases).
WORKFLOW_OPERATIONS = r"^(applications_|staff_applications_|certificates_list$)"
PARTNER_SCOPES = ["catalogue:read", "certificates:verify", "webhooks:manage"]


def fuzz_config() -> SchemathesisConfig:
    """The quick profile, or the deep one under ``GUICHET_FUZZ=deep``."""
    checks: dict[str, Any] = {"enabled": False}
    checks.update({name: {"enabled": True} for name in CHECKS})
    data: dict[str, Any] = {
        "generation": {
            "max-examples": int(os.environ.get("GUICHET_FUZZ_EXAMPLES", 100 if DEEP else 3)),
            "database": "none",
            "no-shrink": not DEEP,
        },
        "checks": checks,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            # The walk goes deep with valid input; invalid input is the other phases' part.
            "stateful": {"enabled": DEEP, "generation": {"mode": "positive"}},
        },
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    }
    if not DEEP:
        data["seed"] = 20261201  # the quick profile is the same run every time
    return SchemathesisConfig.from_dict(data)


AGENCY_SCHEMA = schemathesis.openapi.from_path(ROOT / "schema.yml", config=fuzz_config())
PUBLIC_SCHEMA = schemathesis.openapi.from_path(ROOT / "schema-public.yml", config=fuzz_config())
AGENCY_SCHEMA.app = PUBLIC_SCHEMA.app = WSGIHandler()
# The world is set up once per operation, not per generated case.
ONE_WORLD_PER_OPERATION = hypothesis.settings(
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
# Generous rates: the throttles still run on every request, without refusing the fuzzer.
RATES = dict.fromkeys(
    ("user", "partner", "ip", "agency", "auth", "register", "verify", "password"), "100000/min"
)


@dataclass
class World:
    """Who calls: one access token per kind of caller (agent and partner of agency A)."""

    tokens: dict[str, str]
    rotation: Iterator[str] = field(init=False)
    drafts: Iterator[bool] = field(default_factory=lambda: itertools.cycle([True, False]))

    def __post_init__(self) -> None:
        self.rotation = itertools.cycle(list(self.tokens.values()))

    def token_for(self, path: str) -> str:
        """The token of the role that may call ``path`` (the stateful walk)."""
        if "/staff/" in path or path.startswith("/api/v1/audit/"):
            return self.tokens["agent"]
        if "/webhooks/" in path:
            return self.tokens["partner"]
        if "/platform/" in path:
            return self.tokens["platform"]
        return self.tokens["citizen"]


@pytest.fixture
def world(
    db: None, settings: Any, tmp_path: Path, citizen, staff_of, platform_admin, tokens, agency_a
) -> Iterator[World]:
    """Callers, a published service in agency A, and requests inside the test's transaction.

    Requests share the test's connection and transaction, as with Django's test client; the
    throttles run with rates the fuzzer does not reach; uploads go to a temporary directory.
    """
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    settings.MEDIA_ROOT = str(tmp_path / "media")
    optional_documents = [{**item, "required": False} for item in DOCUMENT_TYPES]
    service_create(agency_a.schema_name, code=SERVICE_CODE, document_types=optional_documents)
    agent = staff_of(agency_a, Role.AGENT)
    client, _secret = partner_client_create(
        name="Fuzzing partner", grants={agency_a: PARTNER_SCOPES}
    )
    partner = issue_partner_token(
        client_uuid=str(client.pk),
        client_id=client.client_id,
        agency=agency_a.schema_name,
        scopes=PARTNER_SCOPES,
    )
    callers = World(
        tokens={
            "citizen": tokens(citizen).access,
            "agent": tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access,
            "partner": partner.access,
            "platform": tokens(platform_admin, TokenKind.PLATFORM).access,
        }
    )
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield callers
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _real_draft(case: Any) -> None:
    """Make a generated "create a draft" name the published service, with valid answers."""
    is_create = case.operation.path == "/api/v1/applications/" and case.method.upper() == "POST"
    if is_create and isinstance(case.body, dict):
        case.body = {**case.body, "service": SERVICE_CODE, "form_data": VALID_FORM}


def _call_and_validate(case: Any, host: str, world: World) -> None:
    if next(world.drafts):
        _real_draft(case)
    headers = {"Authorization": f"Bearer {next(world.rotation)}"}
    case.call_and_validate(base_url=f"http://{host}", headers=headers)


@AGENCY_SCHEMA.parametrize()
@ONE_WORLD_PER_OPERATION
def test_agency_operations(case, world):
    _call_and_validate(case, HOST_A, world)


@PUBLIC_SCHEMA.parametrize()
@ONE_WORLD_PER_OPERATION
def test_public_operations(case, world):
    _call_and_validate(case, PUBLIC_HOST, world)


@pytest.mark.skipif(not DEEP, reason="the stateful walk runs under `make fuzz` (GUICHET_FUZZ=deep)")
def test_the_workflow_through_the_links(world):
    """Chains of calls along the OpenAPI links, each with the token of the role that may."""

    reached: Counter[tuple[str, int]] = Counter()

    workflow = AGENCY_SCHEMA.include(operation_id_regex=WORKFLOW_OPERATIONS)

    class Workflow(workflow.as_state_machine()):  # type: ignore[misc]
        # Each run starts from the same data: hypothesis replays runs to shrink a failure.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case: Any) -> None:
            _real_draft(case)

        def after_call(self, response: Any, case: Any) -> None:
            reached[(f"{case.method.upper()} {case.operation.path}", response.status_code)] += 1

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            token = world.token_for(case.operation.path)
            return {"base_url": f"http://{HOST_A}", "headers": {"Authorization": f"Bearer {token}"}}

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=int(os.environ.get("GUICHET_FUZZ_EXAMPLES", 100)),
            stateful_step_count=10,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    print(
        "\n".join(
            f"{count:5d}  {status}  {call}" for (call, status), count in sorted(reached.items())
        )
    )
    # Drafts were created, and the links led to calls on them that succeeded.
    assert reached[("POST /api/v1/applications/", 201)]
    assert any("{id}" in call and 200 <= status < 300 for (call, status), count in reached.items())
