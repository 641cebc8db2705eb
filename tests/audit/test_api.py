"""The audit API on an agency host: who may read, filters, cursor pages, export, public key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import TokenKind, issue_partner_token
from apps.audit.canonical import canonical_bytes, event_hash
from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_head_sequence
from apps.audit.services import audit_record
from apps.audit.signing import schema_key
from apps.core.context import bind_actor, set_context, system_context
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events/"
EXPORT = "/api/v1/audit/export/"
PUBLIC_KEY = "/api/v1/audit/public-key/"


def _record_in(schema: str, count: int, **kwargs) -> list[AuditEvent]:
    with schema_context(schema):
        return [audit_record(action=f"test.event.{i}", **kwargs) for i in range(count)]


@pytest.fixture
def partner_token(agency_a):
    client, _secret = partner_client_create(name="Banque", grants={agency_a: ["catalogue:read"]})
    return issue_partner_token(
        client_uuid=str(client.id),
        client_id=client.client_id,
        agency="agence_a",
        scopes=["catalogue:read"],
    ).access


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("citizen", 403),
        (Role.AGENT, 403),
        (Role.SUPERVISOR, 403),
        (Role.AGENCY_ADMIN, 200),
        (Role.AUDITOR, 200),
        ("auditor_of_b", 401),
        ("partner", 403),
    ],
)
@pytest.mark.parametrize("url", [EVENTS, EXPORT])
def test_permission_matrix(
    api, citizen, tokens, auditor_token, agency_a, agency_b, partner_token, who, status, url
):
    token = {
        "anonymous": None,
        "citizen": lambda: tokens(citizen).access,
        "auditor_of_b": lambda: auditor_token(agency_b),
        "partner": lambda: partner_token,
    }.get(who, lambda: auditor_token(agency_a, who))
    token = token() if callable(token) else token

    response = api(HOST_A, token).get(url)

    assert response.status_code == status
    if status != 200:
        assert response["Content-Type"].startswith("application/problem+json")


def test_list_shows_this_agencys_events_newest_first_with_chain_fields(
    api, auditor_token, agency_a, agency_b
):
    mine = _record_in("agence_a", 3, target_type="application", target_id="a-1")
    _record_in("agence_b", 2, target_type="application", target_id="b-1")

    response = api(HOST_A, auditor_token(agency_a)).get(EVENTS, {"target_id": "a-1"})

    assert response.status_code == 200
    body = response.json()
    assert [e["sequence"] for e in body["results"]] == [e.sequence for e in reversed(mine)]
    first = body["results"][0]
    assert first["agency_schema"] == "agence_a"
    assert first["hash"] == mine[-1].hash
    assert first["prev_hash"] == mine[-2].hash
    assert (
        api(HOST_A, auditor_token(agency_a)).get(EVENTS, {"target_id": "b-1"}).json()["results"]
        == []
    )  # agency B's events are not reachable from A


def test_filters(api, auditor_token, agency_a):
    set_context(system_context("test"))
    bind_actor(actor_type="user", actor_id="agent-7", actor_role="agent")
    with schema_context("agence_a"):
        hit = audit_record(action="application.approved", target_type="application", target_id="x")
        audit_record(action="application.approved", target_type="document", target_id="x")
        audit_record(action="application.rejected", target_type="application", target_id="x")
        audit_record(action="application.approved", outcome="denied", target_id="x")
    token = auditor_token(agency_a)
    now = timezone.now()

    def sequences(**params):
        response = api(HOST_A, token).get(EVENTS, {"target_id": "x", **params})
        assert response.status_code == 200, response.content
        return [e["sequence"] for e in response.json()["results"]]

    assert sequences(
        actor_id="agent-7",
        actor_type="user",
        action="application.approved",
        target_type="application",
        outcome="success",
    ) == [hit.sequence]
    assert len(sequences(outcome="denied")) == 1
    assert len(sequences(occurred_at_after=(now - timedelta(minutes=1)).isoformat())) == 4
    assert sequences(occurred_at_before=(now - timedelta(days=1)).isoformat()) == []
    invalid = api(HOST_A, token).get(EVENTS, {"outcome": "maybe"})
    assert_problem(invalid, 400, "validation_failed")


def test_cursor_pages_are_stable_and_within_the_query_budget(
    api, auditor_token, agency_a, django_assert_max_num_queries
):
    _record_in("agence_a", 7, target_type="paged")
    token = auditor_token(agency_a)
    seen: list[int] = []
    url, params = EVENTS, {"target_type": "paged", "page_size": 3}

    while url:
        # Host resolution (2 + search path) and the token's user, then one query for the page,
        # whatever its size.
        with django_assert_max_num_queries(5):
            response = api(HOST_A, token).get(url, params)
        body = response.json()
        seen += [e["sequence"] for e in body["results"]]
        _record_in("agence_a", 1, target_type="paged")  # new events do not shift the pages
        url, params = body["next"], None

    assert len(seen) == 7
    assert seen == sorted(seen, reverse=True)


def _export(api, token, **params):
    response = api(HOST_A, token).get(EXPORT, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-agence_a-')
    lines = b"".join(response.streaming_content).splitlines()
    return lines[:-1], json.loads(lines[-1])


def test_export_streams_canonical_lines_and_the_checkpoint(api, auditor_token, agency_a):
    token = auditor_token(agency_a)
    _record_in("agence_a", 3)
    with schema_context("agence_a"):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
    _record_in("agence_a", 2)  # after the checkpoint
    with schema_context("agence_a"):
        head = audit_head_sequence()

    lines, trailer = _export(api, token, format="ndjson")

    records = [json.loads(line) for line in lines]
    assert [r["sequence"] for r in records] == list(range(1, head + 1))
    for line, record in zip(lines, records, strict=True):
        assert line == canonical_bytes(record)  # each line is the canonical form
        assert record["hash"] == event_hash(record)
    key = schema_key("agence_a")
    assert trailer["export"] == {
        "schema": "agence_a",
        "from_sequence": 1,
        "to_sequence": head,
        "events": head,
        "head_sequence": head,
    }
    assert trailer["checkpoint"]["sequence"] == checkpoint.sequence
    assert trailer["checkpoint"]["signature"] == checkpoint.signature
    assert (trailer["public_key"], trailer["key_id"]) == (key.public_base64, key.key_id)
    with schema_context("agence_a"):
        exported = AuditEvent.objects.get(sequence=head + 1)
    assert exported.action == "audit.exported"
    assert exported.changes == {
        "from_sequence": {"old": None, "new": 1},
        "to_sequence": {"old": None, "new": head},
    }


def test_export_of_a_range_takes_the_checkpoint_inside_it(api, auditor_token, agency_a):
    token = auditor_token(agency_a)
    _record_in("agence_a", 2)
    with schema_context("agence_a"):
        inside = audit_checkpoint_create(force=True).checkpoint
    _record_in("agence_a", 3)
    with schema_context("agence_a"):
        audit_checkpoint_create(force=True)

    lines, trailer = _export(
        api, token, from_sequence=inside.sequence - 1, to_sequence=inside.sequence + 1
    )
    beyond, beyond_trailer = _export(api, token, from_sequence=10_000)

    assert [json.loads(line)["sequence"] for line in lines] == [
        inside.sequence - 1,
        inside.sequence,
        inside.sequence + 1,
    ]
    assert trailer["checkpoint"]["sequence"] == inside.sequence
    assert beyond == []
    assert beyond_trailer["checkpoint"] is None
    assert beyond_trailer["export"]["events"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from_sequence": 0}, "from_sequence"),
        ({"from_sequence": "x"}, "from_sequence"),
        ({"from_sequence": 5, "to_sequence": 4}, "to_sequence"),
        ({"limit": 5}, "limit"),
    ],
)
def test_export_rejects_bad_ranges(api, auditor_token, agency_a, params, field):
    response = api(HOST_A, auditor_token(agency_a)).get(EXPORT, params)

    body = assert_problem(
        response, 400, "unknown_field" if field == "limit" else "validation_failed"
    )
    assert field in body["errors"]


def test_public_key_is_public_and_differs_per_agency(api, citizen, tokens):
    response_a = api(HOST_A, "not.a.token").get(PUBLIC_KEY)
    response_b = api(HOST_B).get(PUBLIC_KEY)

    assert response_a.status_code == response_b.status_code == 200
    body = response_a.json()
    key = schema_key("agence_a")
    assert body == {
        "schema": "agence_a",
        "algorithm": "Ed25519",
        "key_id": key.key_id,
        "public_key": key.public_base64,
        "public_key_pem": key.public_pem,
    }
    assert len(base64.b64decode(body["public_key"])) == 32
    assert response_b.json()["public_key"] != body["public_key"]


def test_the_audit_api_is_not_served_on_the_public_host(api, platform_admin, tokens):
    token = tokens(platform_admin, kind=TokenKind.PLATFORM).access

    response = api("localhost", token).get(EVENTS)

    assert response.status_code == 404


def test_export_errors_are_problem_documents_even_when_json_lines_are_asked_for(api):
    response = api(HOST_A).get(EXPORT, HTTP_ACCEPT="application/x-ndjson")

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.content.endswith(b"\n")
    assert json.loads(response.content)["code"] == "not_authenticated"
