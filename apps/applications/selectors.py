"""Every read of applications used by the APIs, the console and tasks (visibility included)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from uuid import UUID

from django.db.models import CharField, Func, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat, Lower

from apps.agencies.models import Domain
from apps.applications import clock
from apps.applications.models import Application, Attachment, HistoryEntry, InternalNote
from apps.applications.workflow import STAFF_VISIBLE
from apps.directory.models import ApplicationEntry
from apps.directory.selectors import application_entry_list_for_citizen


def overdue_q(now: datetime | None = None) -> Q:
    """Applications whose clock runs and whose deadline has passed (``apps.applications.clock``)."""
    return clock.overdue_q(now)


# --- Citizens --------------------------------------------------------------------------------


def application_list_for_citizen(*, citizen_id: UUID) -> QuerySet[Application]:
    """The citizen's own applications in this agency, newest first (one query per page)."""
    return (
        Application.objects.filter(citizen_id=citizen_id)
        .select_related("service")
        .order_by("-created_at", "id")
    )


def application_get_for_citizen(*, application_id: UUID, citizen_id: UUID) -> Application | None:
    """The citizen's own application with its documents and public history, or None.

    Another citizen's application is None, exactly like one that does not exist.
    """
    return (
        application_list_for_citizen(citizen_id=citizen_id)
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch("history", queryset=HistoryEntry.objects.order_by("occurred_at", "id")),
        )
        .filter(pk=application_id)
        .first()
    )


def application_entry_list_for_person(*, citizen_id: UUID) -> QuerySet[ApplicationEntry]:
    """The citizen's applications in every agency (public schema), with each agency's host.

    One query whatever the page size and the number of agencies: the index rows with their
    agency joined and its primary domain as ``agency_host`` (a correlated subquery).
    """
    primary_host = Domain.objects.filter(tenant_id=OuterRef("agency_id"), is_primary=True)
    return application_entry_list_for_citizen(citizen_id=citizen_id).annotate(
        agency_host=Subquery(primary_host.order_by("id").values("domain")[:1])
    )


# --- Staff -----------------------------------------------------------------------------------


def application_queue_for_staff() -> QuerySet[Application]:
    """The agency's work queue: every application but drafts, soonest deadline first.

    Without related rows: the API's list reads it as ``values()`` rows, whose columns join the
    service and the people themselves.
    """
    return Application.objects.filter(status__in=sorted(STAFF_VISIBLE)).order_by(
        "due_at", "submitted_at", "id"
    )


def application_list_for_staff() -> QuerySet[Application]:
    """The work queue as model instances, with service, citizen and assignee in the same query."""
    return application_queue_for_staff().select_related("service", "citizen", "assignee")


def application_get_for_staff(*, application_id: UUID) -> Application | None:
    """One application as staff see it: history, documents and internal notes, or None."""
    return (
        application_list_for_staff()
        .prefetch_related(
            Prefetch(
                "history",
                queryset=HistoryEntry.objects.select_related("actor", "assignee").order_by(
                    "occurred_at", "id"
                ),
            ),
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch(
                "notes",
                queryset=InternalNote.objects.select_related("author").order_by("created_at", "id"),
            ),
        )
        .filter(pk=application_id)
        .first()
    )


def attachment_get(*, application: Application, attachment_id: UUID) -> Attachment | None:
    """An attachment of an application the caller may already see, or None."""
    return Attachment.objects.filter(application=application, pk=attachment_id).first()


def application_get_visible(*, application_id: UUID, citizen_id: UUID | None) -> Application | None:
    """The application without related rows: the citizen's own, or any non-draft for staff."""
    queryset = Application.objects.select_related("service").filter(pk=application_id)
    if citizen_id is not None:
        return queryset.filter(citizen_id=citizen_id).first()
    return queryset.filter(status__in=sorted(STAFF_VISIBLE)).first()


# --- Console search --------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents (``Élodie`` -> ``elodie``), like ``public.guichet_unaccent``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def application_search(queryset: QuerySet[Application], term: str) -> QuerySet[Application]:
    """Applications matching every word of ``term`` (reference, citizen's name, phone, e-mail).

    Accent- and case-insensitive on names (``public.guichet_unaccent``, created by migration
    ``applications.0004``): ``elodie agbeko`` finds Élodie Agbéko. A word of digits (spaces,
    dots and ``+`` ignored, at least four) matches inside the phone number; a word with ``@``
    matches inside the e-mail address.
    """
    term = term.replace("\x00", "")  # PostgreSQL text never holds NUL: search without it
    words = [word for word in term.split() if word]
    if not words:
        return queryset
    queryset = queryset.annotate(
        _citizen_folded=Lower(
            Func(
                Concat(
                    "citizen__first_name",
                    Value(" "),
                    "citizen__last_name",
                    output_field=CharField(),
                ),
                function="public.guichet_unaccent",
                output_field=CharField(),
            )
        )
    )
    digits_only = re.sub(r"[\s.+\-]", "", term)
    if digits_only.isdigit() and len(digits_only) >= 4:
        return queryset.filter(
            Q(citizen__phone__contains=digits_only) | Q(reference__icontains=digits_only)
        )
    for word in words:
        match = Q(reference__icontains=word) | Q(_citizen_folded__contains=fold(word))
        if "@" in word or "." in word:
            match |= Q(citizen__email__icontains=word)
        queryset = queryset.filter(match)
    return queryset


def application_references(*, application_ids: list[str]) -> dict[str, str]:
    """``{id: reference}`` of these applications of the current agency (one query)."""
    rows = Application.objects.filter(pk__in=application_ids).values_list("pk", "reference")
    return {str(pk): reference or str(pk) for pk, reference in rows}


def application_id_for_reference(reference: str) -> str | None:
    """The id of the application with this reference (case ignored) in this agency, or None."""
    found = (
        Application.objects.filter(reference__iexact=reference.replace("\x00", "").strip())
        .values_list("pk", flat=True)
        .first()
    )
    return str(found) if found is not None else None
