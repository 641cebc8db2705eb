"""``manage.py audit_seal``: one pass seals what waits in every schema, and says how many."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.context import set_context, system_context

pytestmark = pytest.mark.django_db


def test_one_pass_seals_the_waiting_events_of_every_schema(settings, agency_a) -> None:
    settings.AUDIT_SEAL_INLINE = False  # events wait for the sealer, as in production
    set_context(system_context("tests.seal"))
    audit_record(action="tests.sealed", target_type="test", target_id="1")
    waiting = AuditEvent.objects.filter(sealed_at__isnull=True).count()
    assert waiting >= 1

    out = StringIO()
    call_command("audit_seal", stdout=out)

    assert "public:" in out.getvalue()
    assert f"{agency_a.schema_name}:" in out.getvalue()
    assert not AuditEvent.objects.filter(sealed_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="tests.sealed").get().sequence is not None
