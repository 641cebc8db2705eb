"""Real concurrency on committed data: gap-free references and exactly one winning decision.

Each request runs in its own thread with its own database connection, as under a threaded or
multi-process server. The data is committed (no test transaction), so everything created here
is deleted at the end, except audit events (the audit table is append-only).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.mfa.services import AMR_PASSWORD_OTP
from apps.accounts.models import Role, User
from apps.accounts.services import membership_grant
from apps.accounts.tokens import TokenKind, issue_user_tokens
from apps.agencies.models import Agency
from apps.applications.models import Application, HistoryEntry, ReferenceSequence
from apps.audit.models import AuditEvent
from apps.catalogue.models import Service
from apps.directory.models import ApplicationEntry
from apps.idempotency.models import IdempotencyRecord
from tests.applications.conftest import draft, service_create
from tests.conftest import HOST_A
from tests.factories import UserFactory


def _allocate_then_fail() -> None:
    from django.db import transaction

    from apps.applications.references import reference_allocate

    with transaction.atomic():
        reference_allocate()
        raise RuntimeError("the submission failed after allocating")


@pytest.mark.django_db
def test_a_rolled_back_submission_gives_its_number_back(agency_a, citizen):
    """Also makes pytest-django set up the test database when this module runs alone."""
    from django.db import transaction

    from apps.applications.references import reference_allocate

    with schema_context("agence_a"):
        with transaction.atomic():
            first = reference_allocate()
        with pytest.raises(RuntimeError):
            _allocate_then_fail()
        with transaction.atomic():
            second = reference_allocate()

    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1


def _run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same instant, each in its own thread and connection."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertions of the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A published service and people in agency A, committed; all removed afterwards."""
    with django_db_blocker.unblock():
        agency = Agency.objects.get(slug="agence-a")
        code = f"concurrence-{uuid.uuid4().hex[:8]}"
        service = service_create("agence_a", code=code)
        people: list[User] = []
        state: dict[str, Any] = {"agency": agency, "service": service, "people": people}
        try:
            yield state
        finally:
            with schema_context("agence_a"):
                applications = Application.objects.filter(service=service)
                ids = list(applications.values_list("id", flat=True))
                applications.delete()
                ApplicationEntry.objects.filter(pk__in=ids).delete()
                Service.objects.filter(pk=service.pk).delete()
                ReferenceSequence.objects.all().delete()
                IdempotencyRecord.objects.filter(
                    caller__in=[f"citizen:{p.pk}" for p in people]
                ).delete()
                # From the agency's search path, so Django sees every table that refers to
                # a user (applications live in agency schemas).
                User.objects.filter(pk__in=[p.pk for p in people]).delete()


def _person(state: dict[str, Any], role: str | None = None) -> User:
    user = UserFactory(email=f"{uuid.uuid4().hex[:12]}@example.tg")
    if role:
        membership_grant(user=user, agency=state["agency"], role=role)
    state["people"].append(user)
    return user


def _token(user: User, role: str | None = None) -> str:
    if role is None:
        return issue_user_tokens(user=user, kind=TokenKind.CITIZEN).access
    return issue_user_tokens(
        user=user, kind=TokenKind.STAFF, agency="agence_a", role=role, amr=AMR_PASSWORD_OTP
    ).access


@pytest.mark.slow
def test_concurrent_submissions_get_gap_free_references(committed, django_db_blocker):
    with django_db_blocker.unblock():
        citizens = [_person(committed) for _ in range(6)]
        drafts = [draft("agence_a", c, service_code=committed["service"].code) for c in citizens]
        # One draft cannot be submitted (no document): its failure must not leave a hole.
        broken_owner = _person(committed)
        broken = draft(
            "agence_a", broken_owner, attach=False, service_code=committed["service"].code
        )

        def submit(application: Application, owner: User) -> Any:
            return Client(HTTP_HOST=HOST_A).post(
                f"/api/v1/applications/{application.id}/submit/",
                data="{}",
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {_token(owner)}",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )

        calls = [lambda a=a, c=c: submit(a, c) for a, c in zip(drafts, citizens, strict=True)]
        calls.insert(3, lambda: submit(broken, broken_owner))
        responses = _run_together(calls)

        statuses = sorted(getattr(r, "status_code", r) for r in responses)
        assert statuses == [200] * 6 + [400], responses
        with schema_context("agence_a"):
            references = sorted(
                Application.objects.filter(pk__in=[d.pk for d in drafts]).values_list(
                    "reference", flat=True
                )
            )
            sequence = ReferenceSequence.objects.get()
        numbers = [int(reference.rsplit("-", 1)[1]) for reference in references]
        assert numbers == list(range(1, 7)), references
        assert sequence.last_number == 6
        assert len(set(references)) == 6


@pytest.mark.slow
def test_two_concurrent_decisions_exactly_one_wins(committed, django_db_blocker):
    with django_db_blocker.unblock():
        owner = _person(committed)
        agent = _person(committed, Role.AGENT)
        supervisor = _person(committed, Role.SUPERVISOR)
        rounds = []
        for _ in range(3):
            application = draft("agence_a", owner, service_code=committed["service"].code)
            with schema_context("agence_a"):
                from apps.applications.services import application_transition

                application = application_transition(
                    application_id=application.id, action="submit", actor=owner, role="citizen"
                )
                application = application_transition(
                    application_id=application.id,
                    action="take",
                    actor=agent,
                    role=Role.AGENT,
                    if_match=application.etag,
                )
            rounds.append(application)

        def decide(application: Application, user: User, role: str, action: str, body: str) -> Any:
            return Client(HTTP_HOST=HOST_A).post(
                f"/api/v1/staff/applications/{application.id}/{action}/",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {_token(user, role)}",
                HTTP_IF_MATCH=application.etag,  # both read the same version
            )

        for application in rounds:
            responses = _run_together(
                [
                    lambda a=application: decide(a, agent, Role.AGENT, "approve", "{}"),
                    lambda a=application: decide(
                        a, supervisor, Role.SUPERVISOR, "reject", '{"reason": "Non conforme"}'
                    ),
                ]
            )
            statuses = sorted(getattr(r, "status_code", r) for r in responses)
            assert statuses == [200, 412], [getattr(r, "content", r) for r in responses]
            loser = next(r for r in responses if r.status_code == 412)
            assert loser.json()["code"] == "precondition_failed"
            winner = next(r for r in responses if r.status_code == 200)
            with schema_context("agence_a"):
                stored = Application.objects.get(pk=application.pk)
                decisions = HistoryEntry.objects.filter(
                    application_id=application.pk, action__in=["approve", "reject"]
                )
                audited = AuditEvent.objects.filter(
                    target_id=str(application.pk),
                    action__in=["application.approved", "application.rejected"],
                )
                assert stored.status == winner.json()["status"]
                assert stored.version == application.version + 1
                assert decisions.count() == 1
                assert audited.count() == 1
            assert ApplicationEntry.objects.get(pk=application.pk).status == stored.status
