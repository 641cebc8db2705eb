"""Input and output serializers of the application APIs (unique names for the OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.applications.answers import answer_rows
from apps.applications.api.descriptions import FIELDS, described
from apps.applications.models import Application, Attachment, HistoryEntry, InternalNote
from apps.applications.workflow import CLOCK_RUNNING, Actor, Status, actions_available
from apps.core.language import in_english
from apps.core.rendering import datetime_text, person_name

# --- Outputs ---------------------------------------------------------------------------------


class ApplicationServiceOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Code of the service in its agency."))
    name = serializers.CharField(help_text=_("In the language of the request."))


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text=_("The person's identifier."))
    name = serializers.SerializerMethodField(
        help_text=_("Full name, or the email address or phone number when no name was given.")
    )

    def get_name(self, user: User) -> str:
        return person_name(user.first_name, user.last_name, user.email, user.phone)


class AttachmentOutputSerializer(serializers.ModelSerializer):
    file_name = serializers.CharField(source="original_name", help_text=FIELDS["file_name"])
    uploaded_at = serializers.DateTimeField(source="created_at", help_text=FIELDS["uploaded_at"])

    class Meta:
        model = Attachment
        fields = ("id", "document_type", "file_name", "mime_type", "size", "sha256", "uploaded_at")
        extra_kwargs = {
            "id": {"help_text": _("The attachment's identifier.")},
            **described("document_type", "mime_type", "size", "sha256"),
        }


class CitizenHistoryOutputSerializer(serializers.ModelSerializer):
    """What the citizen sees of a transition: internal reasons are left out."""

    at = serializers.DateTimeField(source="occurred_at", help_text=FIELDS["at"])
    reason = serializers.SerializerMethodField(help_text=FIELDS["reason"])

    class Meta:
        model = HistoryEntry
        fields = ("action", "from_status", "to_status", "at", "reason")
        extra_kwargs = described("action", "from_status", "to_status")

    def get_reason(self, entry: HistoryEntry) -> str:
        return entry.reason if entry.reason_is_public else ""


class StaffHistoryOutputSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="occurred_at", help_text=FIELDS["at"])
    actor = PersonOutputSerializer(allow_null=True, help_text=FIELDS["actor"])
    assignee = PersonOutputSerializer(
        allow_null=True, help_text=_("Who it was assigned to, for an assignment.")
    )

    class Meta:
        model = HistoryEntry
        fields = (
            "action",
            "from_status",
            "to_status",
            "at",
            "actor",
            "actor_role",
            "assignee",
            "reason",
            "reason_is_public",
        )
        extra_kwargs = described(
            "action", "from_status", "to_status", "actor_role", "reason", "reason_is_public"
        )


class InternalNoteOutputSerializer(serializers.ModelSerializer):
    author = PersonOutputSerializer(help_text=FIELDS["author"])

    class Meta:
        model = InternalNote
        fields = ("id", "author", "body", "created_at")
        extra_kwargs = {
            "id": {"help_text": _("The note's identifier.")},
            "created_at": {"help_text": _("When it was written.")},
            **described("body"),
        }


class AnswerOutputSerializer(serializers.Serializer):
    path = serializers.CharField(help_text=_("Where the answer is in `form_data` (dotted)."))
    label = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.label
        help_text=_("The question's title in the form.")
    )
    value = serializers.CharField(help_text=_("The answer, as text."))


class CitizenApplicationListOutputSerializer(serializers.ModelSerializer):
    service = ApplicationServiceOutputSerializer(help_text=FIELDS["service"])

    class Meta:
        model = Application
        fields: tuple[str, ...] = (
            "id",
            "reference",
            "service",
            "status",
            "submitted_at",
            "due_at",
            "decided_at",
            "created_at",
            "updated_at",
        )
        extra_kwargs = described(*(name for name in fields if name != "service"))


class CitizenApplicationOutputSerializer(CitizenApplicationListOutputSerializer):
    attachments = AttachmentOutputSerializer(many=True, help_text=FIELDS["attachments"])
    history = CitizenHistoryOutputSerializer(many=True, help_text=FIELDS["history"])
    actions = serializers.SerializerMethodField(
        help_text=_("What you can do now: submit, withdraw, answer_info.")
    )

    class Meta(CitizenApplicationListOutputSerializer.Meta):
        fields = (
            *CitizenApplicationListOutputSerializer.Meta.fields,
            "form_data",
            "decision_reason",
            "info_request",
            "version",
            "attachments",
            "history",
            "actions",
        )
        extra_kwargs = described(
            *CitizenApplicationListOutputSerializer.Meta.fields,
            "form_data",
            "decision_reason",
            "info_request",
            "version",
        )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, application: Application) -> list[str]:
        """What the citizen can do now (``submit``, ``withdraw``, ``answer_info``)."""
        return actions_available(
            status=application.status, role=Actor.CITIZEN, is_assignee=False, has_assignee=False
        )


class StaffApplicationListOutputSerializer(serializers.ModelSerializer):
    service = ApplicationServiceOutputSerializer(help_text=FIELDS["service"])
    citizen = PersonOutputSerializer(help_text=FIELDS["citizen"])
    assignee = PersonOutputSerializer(allow_null=True, help_text=FIELDS["assignee"])
    is_overdue = serializers.BooleanField(help_text=FIELDS["is_overdue"])

    class Meta:
        model = Application
        fields: tuple[str, ...] = (
            "id",
            "reference",
            "service",
            "status",
            "citizen",
            "assignee",
            "submitted_at",
            "due_at",
            "is_overdue",
            "decided_at",
            "updated_at",
        )
        extra_kwargs = described("id", "reference", "status", "submitted_at", "due_at")
        extra_kwargs.update(described("decided_at", "updated_at"))


# The work queue is rendered from values() rows (apps.core.rendering): the same JSON as
# StaffApplicationListOutputSerializer, which stays the documented contract; a test compares them.
STAFF_QUEUE_COLUMNS = (
    "id",
    "reference",
    "status",
    "submitted_at",
    "due_at",
    "decided_at",
    "updated_at",
    "service__code",
    "service__name_fr",
    "service__name_en",
    "citizen_id",
    "citizen__first_name",
    "citizen__last_name",
    "citizen__email",
    "citizen__phone",
    "assignee_id",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__email",
    "assignee__phone",
)


def _person(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    person_id = row[f"{prefix}_id"]
    if person_id is None:
        return None
    name = person_name(
        row[f"{prefix}__first_name"],
        row[f"{prefix}__last_name"],
        row[f"{prefix}__email"],
        row[f"{prefix}__phone"],
    )
    return {"id": person_id, "name": name}


def staff_queue_items(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``STAFF_QUEUE_COLUMNS`` as ``StaffApplicationListOutputSerializer`` renders them."""
    zone = timezone.get_current_timezone()
    now = timezone.now()
    english = in_english()
    items = []
    for row in rows:
        due_at = row["due_at"]
        items.append(
            {
                "id": row["id"],
                "reference": row["reference"],
                "service": {
                    "code": row["service__code"],
                    "name": row["service__name_en"] if english else row["service__name_fr"],
                },
                "status": row["status"],
                "citizen": _person(row, "citizen"),
                "assignee": _person(row, "assignee"),
                "submitted_at": datetime_text(row["submitted_at"], zone),
                "due_at": datetime_text(due_at, zone),
                "is_overdue": bool(due_at and row["status"] in CLOCK_RUNNING and due_at < now),
                "decided_at": datetime_text(row["decided_at"], zone),
                "updated_at": datetime_text(row["updated_at"], zone),
            }
        )
    return items


class StaffApplicationOutputSerializer(StaffApplicationListOutputSerializer):
    answers = serializers.SerializerMethodField(help_text=FIELDS["answers"])
    attachments = AttachmentOutputSerializer(many=True, help_text=FIELDS["attachments"])
    history = StaffHistoryOutputSerializer(many=True, help_text=FIELDS["history"])
    notes = InternalNoteOutputSerializer(many=True, help_text=FIELDS["notes"])
    actions = serializers.SerializerMethodField(
        help_text=_("What your role can do now (e.g. take, assign, approve, reject).")
    )

    class Meta(StaffApplicationListOutputSerializer.Meta):
        fields = (
            *StaffApplicationListOutputSerializer.Meta.fields,
            "form_data",
            "answers",
            "decision_reason",
            "info_request",
            "overdue_flagged_at",
            "version",
            "attachments",
            "history",
            "notes",
            "actions",
        )
        extra_kwargs = described(
            "id", "reference", "status", "submitted_at", "due_at", "decided_at", "updated_at"
        )
        extra_kwargs.update(
            described(
                "form_data", "decision_reason", "info_request", "overdue_flagged_at", "version"
            )
        )

    @extend_schema_field(AnswerOutputSerializer(many=True))
    def get_answers(self, application: Application) -> list[dict[str, str]]:
        """The answers labelled with the form's titles, in the form's order."""
        return [
            {"path": row.path, "label": row.label, "value": row.value}
            for row in answer_rows(application.service.form_schema, application.form_data)
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, application: Application) -> list[str]:
        """What the caller's role can do now (same rules as the transition service)."""
        role = str(self.context.get("role", ""))
        user_id = self.context.get("user_id")
        return actions_available(
            status=application.status,
            role=role,
            is_assignee=application.assignee_id is not None and application.assignee_id == user_id,
            has_assignee=application.assignee_id is not None,
        )


class AgencyBriefOutputSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text=_("Short name of the agency, as in its host name."))
    name = serializers.CharField(help_text=_("In the language of the request."))
    host = serializers.CharField(
        allow_null=True, help_text=_("The agency's host: open the application there.")
    )


# The documented contract of my_application_items, which renders the list from values() rows.
class MyApplicationOutputSerializer(serializers.Serializer):
    """One application of the citizen in any agency (from the public index)."""

    id = serializers.UUIDField(help_text=FIELDS["id"])
    agency = AgencyBriefOutputSerializer(help_text=FIELDS["agency"])
    reference = serializers.CharField(help_text=FIELDS["reference"])
    service = ApplicationServiceOutputSerializer(help_text=FIELDS["service"])
    status = serializers.ChoiceField(choices=Status.choices, help_text=FIELDS["status"])
    submitted_at = serializers.DateTimeField(allow_null=True, help_text=FIELDS["submitted_at"])
    due_at = serializers.DateTimeField(allow_null=True, help_text=FIELDS["due_at"])
    updated_at = serializers.DateTimeField(help_text=FIELDS["updated_at"])


MY_APPLICATION_COLUMNS = (
    "id",
    "reference",
    "service_code",
    "service_name_fr",
    "service_name_en",
    "status",
    "submitted_at",
    "due_at",
    "updated_at",
    "agency__slug",
    "agency__name_fr",
    "agency__name_en",
    "agency_host",
)


def my_application_items(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``MY_APPLICATION_COLUMNS`` as ``MyApplicationOutputSerializer`` documents them."""
    zone = timezone.get_current_timezone()
    english = in_english()
    return [
        {
            "id": row["id"],
            "agency": {
                "slug": row["agency__slug"],
                "name": row["agency__name_en"] if english else row["agency__name_fr"],
                "host": row["agency_host"],
            },
            "reference": row["reference"],
            "service": {
                "code": row["service_code"],
                "name": row["service_name_en"] if english else row["service_name_fr"],
            },
            "status": row["status"],
            "submitted_at": datetime_text(row["submitted_at"], zone),
            "due_at": datetime_text(row["due_at"], zone),
            "updated_at": datetime_text(row["updated_at"], zone),
        }
        for row in rows
    ]
