"""The reference of a submit is claimed as its writes are sent, and stays gap-free.

``application_transition`` writes a placeholder and claims the number (one upsert) right
before the queued writes go (``apps.core.batching.late_value``): the number must be the real
one everywhere (row, index, audit event, answer), and a submission that rolls back after the
claim must give its number back.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from apps.applications import services
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import draft, service_create

pytestmark = pytest.mark.django_db


def _number(reference: str) -> int:
    return int(reference.rsplit("-", 1)[1])


def _submit_then_fail(application_id, citizen, expected: int) -> None:
    with transaction.atomic():
        lost = services.application_submit(application_id=application_id, citizen=citizen)
        assert _number(lost.reference) == expected  # claimed and written
        raise RuntimeError("the request failed after the submit")


def test_the_claimed_reference_is_written_everywhere(agency_a, citizen, settings):
    settings.AUDIT_SEAL_INLINE = False
    service_create(agency_a.schema_name)
    application = draft(agency_a.schema_name, citizen)
    with schema_context(agency_a.schema_name):
        submitted = services.application_submit(application_id=application.id, citizen=citizen)
        stored = Application.objects.get(pk=application.id)
        event = AuditEvent.objects.get(action="application.submitted", target_id=str(stored.id))

    assert submitted.reference == stored.reference
    assert stored.reference.startswith("AA-")
    assert "LATE" not in stored.reference
    assert ApplicationEntry.objects.get(pk=application.id).reference == stored.reference
    assert event.changes["reference"]["new"] == stored.reference


def test_a_submission_rolled_back_after_the_claim_leaves_no_gap(agency_a, citizen, settings):
    settings.AUDIT_SEAL_INLINE = False
    service_create(agency_a.schema_name)
    first, doomed, third = (draft(agency_a.schema_name, citizen) for _ in range(3))
    with schema_context(agency_a.schema_name):
        one = services.application_submit(application_id=first.id, citizen=citizen).reference
        with pytest.raises(RuntimeError):
            _submit_then_fail(doomed.id, citizen, _number(one) + 1)
        two = services.application_submit(application_id=third.id, citizen=citizen).reference
        assert Application.objects.get(pk=doomed.id).status == "draft"

    assert _number(two) == _number(one) + 1
