"""Service rules reached only from Python (the API's serializers stop these inputs earlier)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications import services
from apps.applications.errors import ReasonRequired
from apps.applications.models import Application, Attachment, HistoryEntry, InternalNote
from apps.applications.references import default_prefix, reference_format, reference_prefix_set
from apps.core.errors import InvalidInput
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_reasons_are_limited_in_length(in_state, staff_of, agency_a, service_a):
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("in_review", agent=agent)

    with schema_context("agence_a"), pytest.raises(ReasonRequired) as raised:
        services.application_transition(
            application_id=application.id,
            action="reject",
            actor=agent,
            role=Role.AGENT,
            reason="x" * 5001,
            if_match=Application.objects.get(pk=application.id).etag,
        )

    assert "reason" in raised.value.errors


def test_blank_notes_are_refused_by_the_service(in_state, staff_of, agency_a, service_a):
    agent = staff_of(agency_a, Role.AGENT)
    application = in_state("submitted")

    with schema_context("agence_a"), pytest.raises(InvalidInput):
        services.application_note_add(
            application_id=application.id, author=agent, role=Role.AGENT, body="   "
        )


def test_reference_prefix_rules(agency_a):
    assert default_prefix("etat_civil") == "EC"
    assert default_prefix("mairie_lome") == "ML"
    assert default_prefix("_") == "AG"
    assert reference_format(prefix="EC", year=2026, number=123) == "EC-2026-000123"
    assert reference_format(prefix="EC", year=2026, number=1234567) == "EC-2026-1234567"
    with schema_context("agence_a"):
        with pytest.raises(InvalidInput):
            reference_prefix_set(year=2026, prefix="E-C")
        assert reference_prefix_set(year=2026, prefix=" ml ").prefix == "ML"
        assert reference_prefix_set(year=2026, prefix="").prefix == ""


def test_string_forms_of_the_rows(in_state, staff_of, agency_a, service_a):
    application = in_state("submitted")
    agent = staff_of(agency_a, Role.AGENT)
    with schema_context("agence_a"):
        note = services.application_note_add(
            application_id=application.id, author=agent, role=Role.AGENT, body="Note"
        )
        stored = Application.objects.get(pk=application.id)
        entry = HistoryEntry.objects.filter(application=stored).first()
        attachment = Attachment.objects.get(application=stored)
        assert str(stored) == stored.reference
        assert str(entry) == "create: - -> draft"
        assert "application/pdf" in str(attachment)
        assert str(InternalNote.objects.get(pk=note.pk)).startswith(str(agent.id))


def test_unknown_attachment_for_staff_is_404(api, in_state, staff_of, agency_a, tokens, service_a):
    application = in_state("submitted")
    agent = staff_of(agency_a, Role.AGENT)
    client = api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)

    response = client.get(
        f"/api/v1/staff/applications/{application.id}/attachments/{application.id}/"
    )

    assert_problem(response, 404, "attachment_not_found")


def _delete_and_check(users) -> None:
    """Delete rows without Django's collector, then check the deferred foreign keys now."""
    from django.db import connection

    users._raw_delete(users.db)
    connection.check_constraints()


def test_people_with_applications_are_protected_by_the_database(in_state, citizen, service_a):
    from django.db import IntegrityError, connection, models, transaction

    from apps.accounts.models import User

    in_state("submitted")
    # Django's delete() must not look for agency tables from the public schema (the collector
    # walks these hidden reverse relations)...
    relations = [
        relation
        for relation in User._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and relation.related_model._meta.app_label == "applications"
    ]
    assert relations
    assert {relation.on_delete for relation in relations} == {models.DO_NOTHING}
    # ...and PostgreSQL refuses to delete a person who still has an application.
    connection.set_schema_to_public()
    users = User.objects.filter(pk=citizen.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        _delete_and_check(users)
