"""Signed checkpoints, the commands and the periodic tasks."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from apps.audit.canonical import canonical_bytes
from apps.audit.checkpoints import (
    CHECKPOINT_ACTION,
    audit_checkpoint_create,
    checkpoint_document,
    checkpoint_is_valid,
)
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.selectors import audit_head_sequence, audit_schemas
from apps.audit.services import audit_record
from apps.audit.signing import parse_master_key, public_key_from_base64, schema_key
from apps.audit.tasks import (
    audit_checkpoint_all,
    audit_checkpoint_schema,
    audit_verify_all,
    audit_verify_schema,
)
from config.celery import app

pytestmark = pytest.mark.django_db


def test_a_checkpoint_signs_its_own_event_at_the_head(agency_a):
    with schema_context("agence_a"):
        audit_record(action="before.checkpoint")
        outcome = audit_checkpoint_create()
        head = AuditEvent.objects.get(sequence=audit_head_sequence())

    checkpoint = outcome.checkpoint
    assert outcome.created
    assert head.action == CHECKPOINT_ACTION
    assert (checkpoint.sequence, checkpoint.hash) == (head.sequence, head.hash)
    assert head.actor_type == "system"
    key = schema_key("agence_a")
    assert checkpoint.key_id == key.key_id
    document = checkpoint_document(checkpoint)
    signature = base64.b64decode(document.pop("signature"))
    public_key_from_base64(key.public_base64).verify(signature, canonical_bytes(document))
    assert checkpoint_is_valid(checkpoint, key)


def test_nothing_new_means_no_new_checkpoint_unless_forced(agency_a):
    with schema_context("agence_a"):
        first = audit_checkpoint_create().checkpoint
        again = audit_checkpoint_create()
        forced = audit_checkpoint_create(force=True)
        audit_record(action="something.new")
        after_news = audit_checkpoint_create()

    assert (again.created, again.checkpoint.pk) == (False, first.pk)
    assert forced.created
    assert after_news.created
    assert after_news.checkpoint.sequence == forced.checkpoint.sequence + 2


def test_a_checkpoint_does_not_verify_with_another_schemas_key_or_altered(agency_a):
    with schema_context("agence_a"):
        checkpoint = audit_checkpoint_create(force=True).checkpoint
    altered = AuditCheckpoint(
        **{
            **{f.attname: getattr(checkpoint, f.attname) for f in AuditCheckpoint._meta.fields},
            "sequence": checkpoint.sequence + 1,
        }
    )

    assert not checkpoint_is_valid(checkpoint, schema_key("agence_b"))
    assert not checkpoint_is_valid(altered, schema_key("agence_a"))
    assert schema_key("agence_a").verify(b"x", "not base64!") is False


def test_keys_are_derived_per_schema_from_base64_or_pem(settings):
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()

    assert parse_master_key(base64.b64encode(raw).decode()) == raw
    assert parse_master_key(pem) == raw
    assert parse_master_key(pem.replace("\n", "\\n")) == raw  # one-line env var
    settings.AUDIT_SIGNING_KEY = base64.b64encode(raw).decode()
    assert schema_key("agence_a").key_id != schema_key("agence_b").key_id
    assert schema_key("agence_a").public_pem.startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not set"),
        ("not base64 at all!", "neither base64 nor PEM"),
        (base64.b64encode(b"short").decode(), "32 bytes"),
        ("-----BEGIN PRIVATE KEY-----\nxxx\n-----END PRIVATE KEY-----", "readable PEM"),
    ],
)
def test_bad_keys_are_refused_without_echoing_them(settings, value, message):
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        parse_master_key(value)
    if value:
        assert value not in str(caught.value)

    settings.AUDIT_SIGNING_KEY = value
    errors = [e for e in run_checks() if e.id == "audit.E001"]
    assert len(errors) == 1


def test_a_key_of_another_algorithm_is_refused():
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    pem = generate_private_key(SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )

    with pytest.raises(ImproperlyConfigured, match="Ed25519"):
        parse_master_key(pem.decode())


def test_the_configured_key_passes_the_system_check():
    assert [e for e in run_checks() if e.id == "audit.E001"] == []


def test_audit_checkpoint_command(agency_a, agency_b):
    out = StringIO()

    call_command("audit_checkpoint", "--agency", "agence-a", "--agency", "public", stdout=out)
    call_command("audit_checkpoint", "--agency", "agence-a", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("agence_a: signed sequence ")
    assert lines[1].startswith("public: signed sequence ")
    assert lines[2].startswith("agence_a: unchanged since sequence ")
    with schema_context("agence_b"):
        assert not AuditCheckpoint.objects.exists()
    with pytest.raises(CommandError, match="No agency with slug 'nope'"):
        call_command("audit_checkpoint", "--agency", "nope")


def test_audit_verify_command_reports_every_schema(agency_a, agency_b):
    with schema_context("agence_a"):
        audit_record(action="to.verify")
        audit_checkpoint_create()
    out = StringIO()

    call_command("audit_verify", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == audit_schemas()
    assert all(": OK, " in line for line in lines[:-1])
    assert "1 checkpoints" in next(line for line in lines if line.startswith("agence_a"))
    assert lines[-1] == f"{len(audit_schemas())} chain(s) verified."
    with schema_context("agence_a"):
        recorded = AuditEvent.objects.order_by("-sequence").first()
    assert (recorded.action, recorded.outcome) == ("audit.chain_verified", "success")
    assert recorded.changes["result"]["new"]["ok"] is True
    assert recorded.actor_id == "audit_verify"


def test_audit_verify_can_leave_the_chains_untouched(agency_a):
    with schema_context("agence_a"):
        before = audit_head_sequence()

    call_command("audit_verify", "--agency", "agence-a", "--no-record", stdout=StringIO())

    with schema_context("agence_a"):
        assert audit_head_sequence() == before
    with pytest.raises(CommandError, match="No agency with slug"):
        call_command("audit_verify", "--agency", "missing", stdout=StringIO())


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def test_periodic_tasks_fan_out_over_every_schema(agency_a, agency_b, eager_tasks):
    schemas = audit_schemas()

    queued_verify = audit_verify_all.delay().get()
    queued_checkpoints = audit_checkpoint_all.delay().get()

    assert queued_verify == queued_checkpoints == schemas
    assert {"public", "agence_a", "agence_b"} <= set(schemas)
    for schema in schemas:
        with schema_context(schema):
            actions = set(AuditEvent.objects.values_list("action", flat=True))
            assert {"audit.chain_verified", CHECKPOINT_ACTION} <= actions
            assert AuditCheckpoint.objects.exists()


def test_schema_tasks_report_and_skip_unknown_schemas(agency_a):
    result = audit_verify_schema.run(schema_name="agence_a")
    checkpoint = audit_checkpoint_schema.run(schema_name="agence_a")

    assert result["ok"] is True
    assert result["schema"] == "agence_a"
    assert checkpoint["created"] is True
    assert audit_verify_schema.run(schema_name="gone") == {"schema": "gone", "skipped": True}
    assert audit_checkpoint_schema.run(schema_name="gone") == {"schema": "gone", "skipped": True}
