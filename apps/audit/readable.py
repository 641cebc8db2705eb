"""The audit trail as an auditor reads it: names, roles and references resolved at read time.

The chain keeps ids and codes (its content and hashes never change); these helpers look up, in
one query per kind and per page (or per chunk of an export), who the actors were, what the
targets are called and what the actions mean in French. A person erased or unknown stays
shown by id.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Func, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from apps.audit.labels import action_label, actor_type_label, role_label
from apps.audit.models import AuditEvent
from apps.core.tenancy import current_schema

CSV_CHUNK = 1000
PERSON_MATCHES = 200


@dataclass(frozen=True)
class Names:
    """People (by id) and application references (by id) of a page of events."""

    people: dict[str, str]
    references: dict[str, str]

    def actor(self, event: AuditEvent) -> str:
        """``Name (role)``, or the kind of actor when it is not a person."""
        if event.actor_type == "user" and event.actor_id:
            name = self.people.get(event.actor_id, event.actor_id)
        elif event.actor_id and event.actor_id != event.actor_type:
            name = f"{actor_type_label(event.actor_type)} {event.actor_id}"
        else:
            name = actor_type_label(event.actor_type)
        role = role_label(event.actor_role)
        return f"{name} ({role})" if role else name

    def target(self, event: AuditEvent) -> str:
        """The application's reference, the person's name, else ``type id``."""
        if event.target_type == "application" and event.target_id in self.references:
            return self.references[event.target_id]
        if event.target_type == "user" and event.target_id in self.people:
            return self.people[event.target_id]
        return " ".join(part for part in (event.target_type, event.target_id) if part)


def names_for(events: Iterable[AuditEvent]) -> Names:
    """Resolve the actors and targets of ``events`` (two queries at most)."""
    from apps.accounts.models import User

    events = list(events)
    person_ids = {e.actor_id for e in events if e.actor_type == "user" and e.actor_id} | {
        e.target_id for e in events if e.target_type == "user" and e.target_id
    }
    application_ids = {e.target_id for e in events if e.target_type == "application"}
    people: dict[str, str] = {}
    valid = [pk for pk in person_ids if _is_uuid(pk)]
    if valid:
        for user in User.objects.filter(pk__in=valid).only(
            "id", "first_name", "last_name", "email", "phone"
        ):
            people[str(user.pk)] = str(user.get_full_name() or user.email or user.phone or user.pk)
    references: dict[str, str] = {}
    valid = [pk for pk in application_ids if _is_uuid(pk)]
    if valid and current_schema() != get_public_schema_name():
        from apps.applications.selectors import application_references

        references = application_references(application_ids=valid)
    return Names(people=people, references=references)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def person_ids_matching(text: str) -> list[str]:
    """Ids of the people whose name (accents ignored), e-mail or phone contains ``text``."""
    from apps.accounts.models import User
    from apps.applications.selectors import fold

    term = text.replace("\x00", "").strip()
    if not term:
        return []
    folded = Lower(
        Func(
            Concat("first_name", Value(" "), "last_name", output_field=CharField()),
            function="public.guichet_unaccent",
            output_field=CharField(),
        )
    )
    match = Q(_folded__contains=fold(term)) | Q(email__icontains=term)
    digits = "".join(c for c in term if c.isdigit())
    if len(digits) >= 4:
        match |= Q(phone__contains=digits)
    if _is_uuid(term):
        match |= Q(pk=term)
    rows = User.objects.annotate(_folded=folded).filter(match).values_list("pk", flat=True)
    return [str(pk) for pk in rows[:PERSON_MATCHES]]


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = (
    "sequence",
    "occurred_at",
    "action",
    "action_label",
    "outcome",
    "actor",
    "actor_id",
    "actor_role",
    "target",
    "target_type",
    "target_id",
    "ip",
    "request_id",
)


def events_csv(queryset: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV of the events (chain order), names resolved chunk by chunk; constant memory."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(
        [
            _("sequence"),
            _("date and time"),
            _("action code"),
            _("action"),
            _("outcome"),
            _("by"),
            _("actor id"),
            _("role code"),
            _("concerning"),
            _("target type"),
            _("target id"),
            _("IP address"),
            _("request id"),
        ]
    )
    chunk: list[AuditEvent] = []
    for event in queryset.order_by("sequence").iterator(chunk_size=CSV_CHUNK):
        chunk.append(event)
        if len(chunk) >= CSV_CHUNK:
            yield from _csv_rows(writer, chunk)
            chunk = []
    if chunk:
        yield from _csv_rows(writer, chunk)


def _csv_rows(writer: Any, events: list[AuditEvent]) -> Iterator[str]:
    names = names_for(events)
    for event in events:
        yield writer.writerow(
            [
                event.sequence,
                timezone.localtime(event.occurred_at).isoformat(),
                event.action,
                action_label(event.action),
                event.get_outcome_display(),
                names.actor(event),
                event.actor_id,
                event.actor_role,
                names.target(event),
                event.target_type,
                event.target_id,
                event.ip or "",
                event.request_id,
            ]
        )
