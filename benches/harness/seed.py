"""The bench data, prepared idempotently: run it twice and the second run only tops up.

``python -m benches.harness.seed --out STATE.json [--applications N] [--drafts M]
[--agencies K]`` with the bench environment (production settings on the bench database).

* ``bench-lists`` (``bench-lists.localhost``): 12 published services, ``--applications``
  submitted applications (plus 100 in review and 100 approved) of 50 citizens, an agent;
* ``bench-other``: 3 services and a few applications, so a citizen's list spans two agencies;
* ``bench-submit``: one service without required documents and ``--drafts`` drafts of 10
  citizens, waiting for the submit endpoint (applications submitted by an earlier run are
  deleted first, so every run starts from the same state);
* filler agencies ``bench-m-NNN`` until there are ``--agencies`` agencies in all (the migrate
  figures), each created through ``agency_create`` like any other.

Agencies, services and people go through the services (audited); the thousands of
applications are bulk-inserted with their directory rows, as a migration of existing data
would. The state file holds the hosts, the access tokens and the path of the drafts file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.mfa.services import AMR_PASSWORD_OTP  # noqa: E402
from apps.accounts.models import Role, User  # noqa: E402
from apps.accounts.services import membership_grant  # noqa: E402
from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.agencies.models import Agency  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402
from apps.applications.models import Application, HistoryEntry  # noqa: E402
from apps.applications.references import reference_format  # noqa: E402
from apps.catalogue.models import Service  # noqa: E402
from apps.catalogue.services import service_create  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402
from apps.directory.models import ApplicationEntry  # noqa: E402
from apps.outbox.models import OutboxMessage  # noqa: E402

LISTS = ("bench-lists", "bench-lists.localhost", "BL")
OTHER = ("bench-other", "bench-other.localhost", "BO")
SUBMIT = ("bench-submit", "bench-submit.localhost", "BS")
# A second agency written at the same time as the first (nothing serialises across agencies).
SUBMIT_B = ("bench-submit-b", "bench-submit-b.localhost", "BT")
FILLER_PREFIX = "bench-m-"
FORM = {
    "type": "object",
    "properties": {
        "nom": {"type": "string", "title": "Nom", "minLength": 1, "maxLength": 100},
        "prenom": {"type": "string", "title": "Prénom", "maxLength": 100},
        "date_naissance": {"type": "string", "title": "Date de naissance", "format": "date"},
    },
    "required": ["nom"],
}
ANSWERS = {"nom": "Mensah", "prenom": "Afi", "date_naissance": "1990-04-12"}
CATEGORIES = ("etat-civil", "fiscalite", "urbanisme", "transport")


def log(message: str) -> None:
    print(f"[bench seed] {message}", file=sys.stderr, flush=True)


def agency_ensure(slug: str, host: str) -> tuple[Agency, bool]:
    """The agency with this slug, created through ``agency_create`` if missing."""
    existing = Agency.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    name = slug.replace("-", " ").title()
    return agency_create(slug=slug, name_fr=name, name_en=name, domain=host), True


def person_ensure(email: str, phone: str | None = None) -> User:
    """A person with this address (created once)."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, phone=phone, first_name="Bench")
    return user


def services_ensure(agency: Agency, count: int, *, documents: bool) -> list[Service]:
    """``count`` published services in ``agency`` (``service_create``: audited, indexed)."""
    with schema_context(agency.schema_name):
        have = {s.code: s for s in Service.objects.all()}
        for index in range(count):
            code = f"service-{index + 1:02d}"
            if code in have:
                continue
            document_types = (
                [
                    {
                        "code": "piece-identite",
                        "label_fr": "Pièce d'identité",
                        "label_en": "Identity document",
                        "mime_types": ["application/pdf", "image/jpeg", "image/png"],
                        "max_bytes": 5 * 1024 * 1024,
                        "required": False,
                    }
                ]
                if documents
                else []
            )
            have[code] = service_create(
                code=code,
                name_fr=f"Démarche {index + 1}",
                name_en=f"Procedure {index + 1}",
                category=CATEGORIES[index % len(CATEGORIES)],
                description_fr="Une démarche administrative de référence pour les mesures.",
                description_en="A reference administrative procedure for the measurements.",
                form_schema=FORM,
                document_types=document_types,
                fee_xof=500 * (index % 5),
                sla_working_days=5 + index % 10,
                is_published=True,
            )
        return [have[f"service-{index + 1:02d}"] for index in range(count)]


def _entries(agency: Agency, applications: list[Application], services: dict[Any, Service]) -> None:
    ApplicationEntry.objects.bulk_create(
        [
            ApplicationEntry(
                id=a.id,
                agency=agency,
                citizen_id=a.citizen_id,
                reference=a.reference or "",
                service_code=services[a.service_id].code,
                service_name_fr=services[a.service_id].name_fr,
                service_name_en=services[a.service_id].name_en,
                status=a.status,
                submitted_at=a.submitted_at,
                due_at=a.due_at,
                updated_at=a.updated_at,
            )
            for a in applications
        ],
        batch_size=1000,
    )


def applications_ensure(
    agency: Agency,
    prefix: str,
    services: list[Service],
    citizens: list[User],
    agent: User | None,
    *,
    submitted: int,
    in_review: int,
    approved: int,
) -> int:
    """Bulk-insert applications until the agency holds ``submitted`` submitted ones (and the
    others). Returns how many were inserted."""
    now = timezone.now()
    by_id = {s.id: s for s in services}
    wanted = {"submitted": submitted, "in_review": in_review if agent else 0, "approved": approved}
    with schema_context(agency.schema_name), transaction.atomic():
        counts = {status: Application.objects.filter(status=status).count() for status in wanted}
        number = Application.objects.exclude(reference=None).count()
        made: list[Application] = []
        for status, target in wanted.items():
            for _ in range(max(0, target - counts[status])):
                number += 1
                i = number
                made.append(
                    Application(
                        id=uuid.uuid4(),
                        service=services[i % len(services)],
                        citizen=citizens[i % len(citizens)],
                        status=status,
                        form_data=ANSWERS,
                        reference=reference_format(prefix=prefix, year=now.year, number=i),
                        submitted_at=now - timedelta(hours=i),
                        due_at=now + timedelta(days=10) - timedelta(hours=i),
                        assignee=agent if status == "in_review" else None,
                        decided_at=now if status == "approved" else None,
                        created_at=now - timedelta(hours=i, minutes=5),
                        updated_at=now - timedelta(hours=i),
                    )
                )
        Application.objects.bulk_create(made, batch_size=1000)
        from apps.applications.models import ReferenceSequence

        ReferenceSequence.objects.update_or_create(
            year=now.year, defaults={"last_number": max(number, 0)}
        )
    _entries(agency, made, by_id)
    return len(made)


def drafts_reset(agency: Agency, service: Service, citizens: list[User], drafts: int) -> int:
    """Delete what an earlier run submitted and top the drafts up to ``drafts``."""
    now = timezone.now()
    with schema_context(agency.schema_name), transaction.atomic():
        done = list(Application.objects.exclude(status="draft").values_list("id", flat=True))
        HistoryEntry.objects.filter(application_id__in=done).delete()
        Application.objects.filter(id__in=done).delete()
        OutboxMessage.objects.all().delete()
        have = Application.objects.filter(status="draft").count()
        made = [
            Application(
                id=uuid.uuid4(),
                service=service,
                citizen=citizens[i % len(citizens)],
                status="draft",
                form_data=ANSWERS,
                created_at=now,
                updated_at=now,
            )
            for i in range(max(0, drafts - have))
        ]
        Application.objects.bulk_create(made, batch_size=1000)
    ApplicationEntry.objects.filter(id__in=done).delete()
    _entries(agency, made, {service.id: service})
    return len(made)


def approvals_reset(
    agency: Agency, service: Service, citizens: list[User], agent: User, count: int
) -> list[Application]:
    """``count`` applications in review assigned to ``agent``, ready to be approved.

    Run after ``drafts_reset`` (which deletes every non-draft application of the agency).
    """
    now = timezone.now()
    made = [
        Application(
            id=uuid.uuid4(),
            service=service,
            citizen=citizens[i % len(citizens)],
            status="in_review",
            reference=reference_format(prefix="AP", year=now.year, number=i + 1),
            form_data=ANSWERS,
            assignee=agent,
            submitted_at=now,
            due_at=now + timedelta(days=7),
            version=3,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    ]
    with schema_context(agency.schema_name), transaction.atomic():
        Application.objects.bulk_create(made, batch_size=1000)
    _entries(agency, made, {service.id: service})
    return made


def fillers_ensure(total: int) -> tuple[int, float]:
    """Filler agencies until ``total`` agencies exist. Returns (created, seconds)."""
    started = time.perf_counter()
    count = Agency.objects.exclude(schema_name="public").count()
    created = 0
    index = Agency.objects.filter(slug__startswith=FILLER_PREFIX).count()
    while count < total:
        index += 1
        slug = f"{FILLER_PREFIX}{index:03d}"
        if Agency.objects.filter(slug=slug).exists():
            continue
        agency_ensure(slug, f"{slug}.localhost")
        count += 1
        created += 1
        if created % 20 == 0:
            log(f"{created} filler agencies created ({count}/{total})")
    return created, time.perf_counter() - started


def analyze(agencies: tuple[Agency, ...]) -> None:
    """Planner statistics for the bulk-inserted tables, as a live database would have them
    (autovacuum would get there on its own, minutes later)."""
    with connection.cursor() as cursor:
        for agency in agencies:
            for table in ("applications_application", "catalogue_service"):
                cursor.execute(f'ANALYZE "{agency.schema_name}"."{table}"')
        for table in ("directory_applicationentry", "directory_serviceentry", "accounts_user"):
            cursor.execute(f'ANALYZE "public"."{table}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--applications", type=int, default=600)
    parser.add_argument("--drafts", type=int, default=6000)
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--approvals", type=int, default=3000)
    args = parser.parse_args()
    set_context(system_context("bench.seed"))
    started = time.perf_counter()
    connection.set_schema_to_public()

    lists, _ = agency_ensure(LISTS[0], LISTS[1])
    other, _ = agency_ensure(OTHER[0], OTHER[1])
    submit, _ = agency_ensure(SUBMIT[0], SUBMIT[1])
    agent = person_ensure("bench-agent@bench.localhost")
    membership_grant(user=agent, agency=lists, role=Role.AGENT)
    citizens = [
        person_ensure(f"bench-citizen-{i:02d}@bench.localhost", f"+2289100{i:04d}")
        for i in range(50)
    ]
    submitters = [
        person_ensure(f"bench-submitter-{i:02d}@bench.localhost", f"+2289200{i:04d}")
        for i in range(10)
    ]
    list_services = services_ensure(lists, 12, documents=True)
    other_services = services_ensure(other, 3, documents=True)
    (submit_service,) = services_ensure(submit, 1, documents=False)
    submit_b, _ = agency_ensure(SUBMIT_B[0], SUBMIT_B[1])
    (submit_b_service,) = services_ensure(submit_b, 1, documents=False)
    approver = person_ensure("bench-approver@bench.localhost")
    membership_grant(user=approver, agency=submit, role=Role.AGENT)
    inserted = applications_ensure(
        lists, LISTS[2], list_services, citizens, agent,
        submitted=args.applications, in_review=100, approved=100,
    )  # fmt: skip
    inserted += applications_ensure(
        other, OTHER[2], other_services, citizens[:5], None, submitted=10, in_review=0, approved=5
    )
    drafts = drafts_reset(submit, submit_service, submitters, args.drafts)
    drafts += drafts_reset(submit_b, submit_b_service, submitters, args.drafts // 2)
    approvals = approvals_reset(submit, submit_service, submitters, approver, args.approvals)
    fillers, filler_seconds = fillers_ensure(args.agencies)
    analyze((lists, other, submit, submit_b))

    # The citizen whose cross-agency list is measured: applications in both agencies.
    me = citizens[0]
    with schema_context(submit.schema_name):
        draft_rows = list(
            Application.objects.filter(status="draft").values_list("id", "citizen_id")
        )
    submitter_tokens = {
        str(u.pk): issue_user_tokens(user=u, kind=TokenKind.CITIZEN).access for u in submitters
    }
    drafts_path = args.out.with_name("drafts.txt")
    drafts_path.write_text(
        "".join(f"{pk} {submitter_tokens[str(citizen)]}\n" for pk, citizen in draft_rows)
    )
    with schema_context(submit_b.schema_name):
        draft_b_rows = list(
            Application.objects.filter(status="draft").values_list("id", "citizen_id")
        )
    drafts_b_path = args.out.with_name("drafts-b.txt")
    drafts_b_path.write_text(
        "".join(f"{pk} {submitter_tokens[str(citizen)]}\n" for pk, citizen in draft_b_rows)
    )
    approver_token = issue_user_tokens(
        user=approver, kind=TokenKind.STAFF, agency=submit.schema_name, role=Role.AGENT
    ).access
    approvals_path = args.out.with_name("approvals.txt")
    approvals_path.write_text("".join(f"{a.pk} {approver_token} {a.etag}\n" for a in approvals))
    state = {
        "hosts": {
            "lists": LISTS[1],
            "other": OTHER[1],
            "submit": SUBMIT[1],
            "submit_b": SUBMIT_B[1],
            "public": "localhost",
        },
        "schemas": {"submit": submit.schema_name, "submit_b": submit_b.schema_name},
        "tokens": {
            # As the token endpoint issues it after the password and the second factor.
            "agent": issue_user_tokens(
                user=agent,
                kind=TokenKind.STAFF,
                agency=lists.schema_name,
                role=Role.AGENT,
                amr=AMR_PASSWORD_OTP,
            ).access,
            "citizen": issue_user_tokens(user=me, kind=TokenKind.CITIZEN).access,
        },
        "drafts_file": str(drafts_path),
        "drafts_b_file": str(drafts_b_path),
        "approvals_file": str(approvals_path),
        "drafts": len(draft_rows),
        "counts": {
            "agencies": Agency.objects.exclude(schema_name="public").count(),
            "lists_applications": _count(lists),
            "citizen_entries": ApplicationEntry.objects.filter(citizen=me).count(),
        },
        "inserted": {"applications": inserted, "drafts": drafts, "filler_agencies": fillers},
        "filler_seconds": round(filler_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.write_text(json.dumps(state, indent=2))
    log(f"ready in {state['seconds']} s: {state['counts']}, inserted {state['inserted']}")


def _count(agency: Agency) -> int:
    with schema_context(agency.schema_name):
        return Application.objects.count()


if __name__ == "__main__":
    main()
