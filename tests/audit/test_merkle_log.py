"""The sealed Merkle log: deferred sealing, carry-over, seal-once trigger, tree heads, proofs,
the API (who may ask what), the standalone verifier, the witness and audit-key rotation."""

from __future__ import annotations

import base64
import importlib.util
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.canonical import canonical_bytes, event_hash
from apps.audit.merkle import largest_power_of_two_below, leaf_hash, node_hash
from apps.audit.models import AuditEvent, AuditTreeHead, AuditWitnessSignature
from apps.audit.proofs import consistency_proof, inclusion_proof
from apps.audit.sealing import audit_seal
from apps.audit.selectors import audit_event_records
from apps.audit.services import audit_record
from apps.audit.verify import chain_verify
from apps.audit.witness import audit_witness_submit, tree_head_message_of
from tests.applications.conftest import advance, draft, service_create
from tests.audit.conftest import build_chain
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_audit.py"
WITNESS_PORT = 9431


def _verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_audit_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162's definition, straight."""
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = largest_power_of_two_below(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


@pytest.fixture
def deferred(settings):
    settings.AUDIT_SEAL_INLINE = False


@pytest.mark.django_db
def test_events_are_written_unsealed_then_sealed_in_order_into_the_tree(agency_a, deferred):
    with schema_context(agency_a.schema_name):
        audit_seal()
        events = [audit_record(action=f"deferred.{i}") for i in range(5)]
        assert all(e.sequence is None and e.hash is None for e in events)
        assert AuditEvent.objects.filter(sequence__isnull=True).count() == 5

        outcome = audit_seal()

        assert outcome.sealed == 5
        stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[e.pk for e in events])}
        sequences = [stored[e.pk].sequence for e in events]
        assert sequences == list(range(sequences[0], sequences[0] + 5))
        records = list(audit_event_records())
        assert chain_verify(records, schema=agency_a.schema_name).ok
        head = AuditTreeHead.objects.order_by("-tree_size", "-signed_at").first()
        assert head.tree_size == len(records) == outcome.tree_size
        assert head.root_hash == mth([bytes.fromhex(r["hash"]) for r in records]).hex()
        assert head.signature
        assert head.key_id.startswith("audit-")
        assert audit_seal().sealed == 0  # nothing waiting: nothing done


@pytest.mark.django_db
def test_a_rolled_back_writer_leaves_no_unsealed_event_and_no_gap(agency_a, deferred):
    with schema_context(agency_a.schema_name):
        audit_seal()
        with transaction.atomic():
            sid = transaction.savepoint()
            audit_record(action="will.roll.back")
            transaction.savepoint_rollback(sid)
        audit_record(action="kept")
        audit_seal()
        assert chain_verify(audit_event_records(), schema=agency_a.schema_name).ok
        assert not AuditEvent.objects.filter(action="will.roll.back").exists()


def test_old_chain_events_are_carried_over_into_the_tree(scratch_schema):
    """Events sealed before the tree existed (chain format 1) get their leaves, in order."""
    records = build_chain(13, schema=scratch_schema)
    with schema_context(scratch_schema), connection.cursor() as cursor:
        for record in records:
            cursor.execute(
                "INSERT INTO audit_auditevent (id, version, sequence, prev_hash, hash, occurred_at,"
                " agency_schema, actor_type, actor_id, actor_role, action, target_type, target_id,"
                " changes, outcome, ip, user_agent, request_id) VALUES (%s, 1, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    record["id"], record["sequence"], record["prev_hash"], record["hash"],
                    record["occurred_at"].replace("Z", "+00:00"), scratch_schema,
                    record["actor_type"], record["actor_id"], record["actor_role"],
                    record["action"], record["target_type"], record["target_id"],
                    json.dumps(record["changes"]), record["outcome"], record["ip"],
                    record["user_agent"], record["request_id"],
                ],
            )  # fmt: skip
        outcome = audit_seal()
        assert outcome.tree_size == 13
        head = AuditTreeHead.objects.get()
        assert head.root_hash == mth([bytes.fromhex(r["hash"]) for r in records]).hex()
        assert chain_verify(audit_event_records(), schema=scratch_schema).ok


@pytest.mark.django_db
def test_the_trigger_lets_exactly_the_sealing_update_through(agency_a, deferred):
    with schema_context(agency_a.schema_name):
        event = audit_record(action="seal.once", target_id="x")
        for sql in (
            "UPDATE audit_auditevent SET action = 'changed' WHERE id = %s",
            "UPDATE audit_auditevent SET sequence = 999999, prev_hash = 'a', hash = 'b', "
            "action = 'changed' WHERE id = %s",
            "DELETE FROM audit_auditevent WHERE id = %s",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [event.pk])
        audit_seal()
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):  # sealed: never again
            cursor.execute("UPDATE audit_auditevent SET hash = 'x' WHERE id = %s", [event.pk])
        stored = AuditEvent.objects.get(pk=event.pk)
        assert stored.action == "seal.once"
        assert stored.sequence is not None


def test_concurrent_writers_are_sealed_into_one_chain_without_fork(scratch_schema, settings):
    settings.AUDIT_SEAL_INLINE = False
    writers, per_writer = 6, 20
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        from django.db import connections

        try:
            barrier.wait()
            for index in range(per_writer):
                with schema_context(scratch_schema), transaction.atomic():
                    audit_record(action="concurrent.write", target_id=f"{number}-{index}")
                if index % 7 == 0:
                    with schema_context(scratch_schema):
                        audit_seal()  # sealers run while writers write
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with schema_context(scratch_schema):
        audit_seal()
        records = list(audit_event_records())
        result = chain_verify(records, schema=scratch_schema)
        head = AuditTreeHead.objects.order_by("-tree_size").first()
    assert result.ok, result.first_break
    assert result.checked == writers * per_writer
    assert head.root_hash == mth([bytes.fromhex(r["hash"]) for r in records]).hex()


# --- Proofs, API and the standalone verifier ---------------------------------------------------


def _sealed_events(schema: str, count: int) -> list[AuditEvent]:
    with schema_context(schema):
        events = [audit_record(action=f"proof.{i}") for i in range(count)]
        audit_seal()
        return [AuditEvent.objects.get(pk=e.pk) for e in events]


@pytest.mark.django_db
def test_proofs_verify_with_the_published_keys_only(api, agency_a, auditor_token):
    events = _sealed_events(agency_a.schema_name, 3)
    client = api(HOST_A, auditor_token(agency_a))
    keys = api(HOST_A).get("/api/v1/audit/keys/").json()
    head = api(HOST_A).get("/api/v1/audit/tree-head/").json()
    verifier = _verifier()
    ring = verifier.load_keys(keys)

    verifier.check_tree_head(head, ring)
    for event in events:
        proof = client.get(f"/api/v1/audit/events/{event.pk}/inclusion/")
        assert proof.status_code == 200, proof.content
        verifier.check_inclusion(proof.json(), ring)
    with schema_context(agency_a.schema_name):
        first = AuditTreeHead.objects.exclude(signature="").order_by("tree_size").first()
    consistency = api(HOST_A).get(
        f"/api/v1/audit/consistency/?first={first.tree_size}&second={head['tree_size']}"
    )
    assert consistency.status_code == 200, consistency.content
    verifier.check_consistency(consistency.json(), ring)

    forged = dict(proof.json(), event=dict(proof.json()["event"], action="forged"))
    with pytest.raises(verifier.Failure, match="hash"):
        verifier.check_inclusion(forged, ring)
    bad_head = dict(head, root_hash="0" * 64)
    with pytest.raises(verifier.Failure, match="signature"):
        verifier.check_tree_head(bad_head, ring)


@pytest.mark.django_db
def test_the_command_line_verifier(tmp_path, api, agency_a, auditor_token):
    import subprocess
    import sys

    [event] = _sealed_events(agency_a.schema_name, 1)
    (tmp_path / "keys.json").write_text(api(HOST_A).get("/api/v1/audit/keys/").content.decode())
    proof = api(HOST_A, auditor_token(agency_a)).get(f"/api/v1/audit/events/{event.pk}/inclusion/")
    (tmp_path / "proof.json").write_text(proof.content.decode())
    tampered = proof.json()
    tampered["audit_path"] = [*list(reversed(tampered["audit_path"])), "00" * 32]
    (tmp_path / "bad.json").write_text(json.dumps(tampered))

    def run(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--keys", str(tmp_path / "keys.json"), "inclusion",
             str(tmp_path / name)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert run("proof.json").stdout.strip() == "OK"
    bad = run("bad.json")
    assert bad.returncode == 1
    assert "not in the signed tree" in bad.stdout


@pytest.mark.django_db
def test_a_citizen_proves_the_events_of_their_own_file_only(
    api, tokens, citizen, other_citizen, agency_a, staff_of
):
    service_create(agency_a.schema_name)
    schema = agency_a.schema_name
    application = advance(schema, draft(schema, citizen), "submit", citizen, "citizen")
    with schema_context(schema):
        audit_seal()
        submitted = AuditEvent.objects.get(
            action="application.submitted", target_id=str(application.id)
        )
        unrelated = audit_record(action="staff.thing")
        audit_seal()
    path = f"/api/v1/audit/events/{submitted.pk}/inclusion/"

    mine = api(HOST_A, tokens(citizen).access).get(path)
    assert mine.status_code == 200, mine.content
    assert mine.json()["event"]["changes"]["status"] == {"old": "draft", "new": "submitted"}
    assert_problem(
        api(HOST_A, tokens(other_citizen).access).get(path), 404, "audit_event_not_found"
    )
    assert_problem(
        api(HOST_A, tokens(citizen).access).get(f"/api/v1/audit/events/{unrelated.pk}/inclusion/"),
        404,
        "audit_event_not_found",
    )
    agent = staff_of(agency_a, Role.AGENT)
    from apps.accounts.tokens import TokenKind

    agent_token = tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access
    assert api(HOST_A, agent_token).get(path).status_code == 403
    assert api(HOST_A).get(path).status_code == 401


@pytest.mark.django_db
def test_another_agency_cannot_reach_an_event_of_agency_a(api, agency_a, agency_b, auditor_token):
    [event] = _sealed_events(agency_a.schema_name, 1)
    _sealed_events(agency_b.schema_name, 1)
    path = f"/api/v1/audit/events/{event.pk}/inclusion/"

    # B's auditor on B's host: the event is not in B's log.
    assert_problem(api(HOST_B, auditor_token(agency_b)).get(path), 404, "audit_event_not_found")
    # B's auditor's token on A's host: refused.
    assert api(HOST_A, auditor_token(agency_b)).get(path).status_code in (401, 403)
    head_b = api(HOST_B).get("/api/v1/audit/tree-head/").json()
    assert head_b["schema"] == agency_b.schema_name


@pytest.mark.django_db
def test_bad_proof_requests_are_problems(api, agency_a, auditor_token):
    _sealed_events(agency_a.schema_name, 1)
    assert_problem(
        api(HOST_A).get("/api/v1/audit/consistency/?first=5&second=2"),
        400,
        "audit_tree_sizes_invalid",
    )
    assert api(HOST_A).get("/api/v1/audit/consistency/?first=x&second=2").status_code == 400
    assert_problem(
        api(HOST_A).get("/api/v1/audit/tree-head/?tree_size=99999999"),
        404,
        "audit_tree_head_not_found",
    )
    assert_problem(
        api(HOST_A, auditor_token(agency_a)).get(f"/api/v1/audit/events/{uuid.uuid4()}/inclusion/"),
        404,
        "audit_event_not_found",
    )


# --- Witness and key rotation ----------------------------------------------------------------


class _Witness(BaseHTTPRequestHandler):
    key = Ed25519PrivateKey.generate()
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message = {k: body[k] for k in _verifier().TREE_HEAD_FIELDS}
        self.seen.append(body)
        answer = {
            "witness": "cnil-test",
            "key_id": "cnil-1",
            "signature": base64.b64encode(self.key.sign(canonical_bytes(message))).decode(),
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def witness():
    server = HTTPServer(("127.0.0.1", WITNESS_PORT), _Witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Witness
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_tree_heads_are_cosigned_by_the_outside_witness(api, settings, agency_a, witness):
    settings.AUDIT_WITNESS_URL = f"http://127.0.0.1:{WITNESS_PORT}/cosign"
    _sealed_events(agency_a.schema_name, 2)
    with schema_context(agency_a.schema_name):
        head = AuditTreeHead.objects.exclude(signature="").order_by("-tree_size").first()
        stored = audit_witness_submit(head)
    assert stored is not None
    assert witness.seen[-1]["root_hash"] == head.root_hash
    witness_key = base64.b64encode(
        witness.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    published = api(HOST_A).get("/api/v1/audit/tree-head/").json()
    assert published["witness_signatures"][0]["witness"] == "cnil-test"
    verifier = _verifier()
    ring = verifier.load_keys(api(HOST_A).get("/api/v1/audit/keys/").json())
    verifier.check_tree_head(
        published, ring, verifier.Ed25519PublicKey.from_public_bytes(base64.b64decode(witness_key))
    )
    with schema_context(agency_a.schema_name):
        assert AuditWitnessSignature.objects.filter(head=head).count() == 1
        assert canonical_bytes(tree_head_message_of(head))  # what both sides signed


@pytest.mark.django_db
def test_a_witness_that_is_down_costs_nothing_but_a_log_line(settings, agency_a):
    settings.AUDIT_WITNESS_URL = f"http://127.0.0.1:{WITNESS_PORT + 1}/cosign"
    settings.AUDIT_WITNESS_TIMEOUT_SECONDS = 0.5
    _sealed_events(agency_a.schema_name, 1)
    with schema_context(agency_a.schema_name):
        head = AuditTreeHead.objects.exclude(signature="").order_by("-tree_size").first()
        assert audit_witness_submit(head) is None


@pytest.mark.django_db
def test_rotating_the_audit_key_keeps_old_heads_verifiable(api, agency_a):
    _sealed_events(agency_a.schema_name, 1)
    old_head = api(HOST_A).get("/api/v1/audit/tree-head/").json()
    call_command("keys_rotate", "--kind", "audit")
    _sealed_events(agency_a.schema_name, 1)
    new_head = api(HOST_A).get("/api/v1/audit/tree-head/").json()
    keys = api(HOST_A).get("/api/v1/audit/keys/").json()
    verifier = _verifier()
    ring = verifier.load_keys(keys)

    assert new_head["key_id"] != old_head["key_id"]
    assert {k["kid"] for k in keys["results"]} >= {old_head["key_id"], new_head["key_id"]}
    verifier.check_tree_head(old_head, ring)
    verifier.check_tree_head(new_head, ring)
    proof = api(HOST_A).get(
        f"/api/v1/audit/consistency/?first={old_head['tree_size']}&second={new_head['tree_size']}"
    )
    verifier.check_consistency(proof.json(), ring)


@pytest.mark.django_db
def test_proofs_in_process_match_the_api(agency_a):
    events = _sealed_events(agency_a.schema_name, 4)
    with schema_context(agency_a.schema_name):
        proof = inclusion_proof(event=events[0])
        head = AuditTreeHead.objects.exclude(signature="").order_by("tree_size").first()
        latest = AuditTreeHead.objects.exclude(signature="").order_by("-tree_size").first()
        consistency = consistency_proof(first=head.tree_size, second=latest.tree_size)
    assert proof["event"]["hash"] == event_hash(proof["event"])
    assert consistency["second"] == latest.tree_size
