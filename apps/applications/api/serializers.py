"""Input and output serializers of the application APIs (unique names for the OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.applications.answers import answer_rows
from apps.applications.models import Application, Attachment, HistoryEntry, InternalNote
from apps.applications.services.notes import MAX_NOTE_CHARS
from apps.applications.services.transitions import MAX_REASON_CHARS
from apps.applications.workflow import OPEN, Actor, Status, actions_available
from apps.core.language import in_english
from apps.core.rendering import datetime_text, person_name
from apps.core.serializers import StrictInputSerializer

# --- Inputs ----------------------------------------------------------------------------------


class ApplicationCreateInputSerializer(StrictInputSerializer):
    service = serializers.SlugField(max_length=64, help_text="Code of a published service.")
    form_data = serializers.DictField(
        required=False, help_text="Answers to the service's form (checked against its schema)."
    )


class ApplicationFormInputSerializer(StrictInputSerializer):
    form_data = serializers.DictField(help_text="Every answer of the form (replaces the draft's).")


class AttachmentUploadInputSerializer(StrictInputSerializer):
    document_type = serializers.SlugField(max_length=64)
    file = serializers.FileField(allow_empty_file=False, use_url=False)


class ApplicationWithdrawInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_REASON_CHARS, trim_whitespace=True
    )


class ApplicationAnswerInfoInputSerializer(StrictInputSerializer):
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_REASON_CHARS, trim_whitespace=True
    )
    form_data = serializers.DictField(
        required=False, help_text="Corrected answers, if the request was about them."
    )


class StaffEmptyInputSerializer(StrictInputSerializer):
    """No body (or an empty object)."""


class StaffAssignInputSerializer(StrictInputSerializer):
    assignee = serializers.UUIDField(help_text="Id of an agent, supervisor or admin.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=MAX_REASON_CHARS)


class StaffRequestInfoInputSerializer(StrictInputSerializer):
    message = serializers.CharField(
        max_length=MAX_REASON_CHARS, help_text="What the citizen must provide (shown to them)."
    )


class StaffDecisionInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_CHARS,
        help_text="Shown to the citizen.",
    )


class StaffRejectInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=MAX_REASON_CHARS, help_text="Why (required; shown to the citizen)."
    )


class StaffNoteInputSerializer(StrictInputSerializer):
    body = serializers.CharField(max_length=MAX_NOTE_CHARS)


# --- Outputs ---------------------------------------------------------------------------------


class ApplicationServiceOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return person_name(user.first_name, user.last_name, user.email, user.phone)


class AttachmentOutputSerializer(serializers.ModelSerializer):
    file_name = serializers.CharField(source="original_name")
    uploaded_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Attachment
        fields = ("id", "document_type", "file_name", "mime_type", "size", "sha256", "uploaded_at")


class CitizenHistoryOutputSerializer(serializers.ModelSerializer):
    """What the citizen sees of a transition: internal reasons are left out."""

    at = serializers.DateTimeField(source="occurred_at")
    reason = serializers.SerializerMethodField()

    class Meta:
        model = HistoryEntry
        fields = ("action", "from_status", "to_status", "at", "reason")

    def get_reason(self, entry: HistoryEntry) -> str:
        return entry.reason if entry.reason_is_public else ""


class StaffHistoryOutputSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="occurred_at")
    actor = PersonOutputSerializer(allow_null=True)
    assignee = PersonOutputSerializer(allow_null=True)

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


class InternalNoteOutputSerializer(serializers.ModelSerializer):
    author = PersonOutputSerializer()

    class Meta:
        model = InternalNote
        fields = ("id", "author", "body", "created_at")


class AnswerOutputSerializer(serializers.Serializer):
    path = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    value = serializers.CharField()


class CitizenApplicationListOutputSerializer(serializers.ModelSerializer):
    service = ApplicationServiceOutputSerializer()

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


class CitizenApplicationOutputSerializer(CitizenApplicationListOutputSerializer):
    attachments = AttachmentOutputSerializer(many=True)
    history = CitizenHistoryOutputSerializer(many=True)
    actions = serializers.SerializerMethodField()

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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, application: Application) -> list[str]:
        """What the citizen can do now (``submit``, ``withdraw``, ``answer_info``)."""
        return actions_available(
            status=application.status, role=Actor.CITIZEN, is_assignee=False, has_assignee=False
        )


class StaffApplicationListOutputSerializer(serializers.ModelSerializer):
    service = ApplicationServiceOutputSerializer()
    citizen = PersonOutputSerializer()
    assignee = PersonOutputSerializer(allow_null=True)
    is_overdue = serializers.BooleanField()

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
                "is_overdue": bool(due_at and row["status"] in OPEN and due_at < now),
                "decided_at": datetime_text(row["decided_at"], zone),
                "updated_at": datetime_text(row["updated_at"], zone),
            }
        )
    return items


class StaffApplicationOutputSerializer(StaffApplicationListOutputSerializer):
    answers = serializers.SerializerMethodField()
    attachments = AttachmentOutputSerializer(many=True)
    history = StaffHistoryOutputSerializer(many=True)
    notes = InternalNoteOutputSerializer(many=True)
    actions = serializers.SerializerMethodField()

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
    slug = serializers.CharField()
    name = serializers.CharField()
    host = serializers.CharField(
        allow_null=True, help_text="The agency's host: open the application there."
    )


# The documented contract of my_application_items, which renders the list from values() rows.
class MyApplicationOutputSerializer(serializers.Serializer):
    """One application of the citizen in any agency (from the public index)."""

    id = serializers.UUIDField()
    agency = AgencyBriefOutputSerializer()
    reference = serializers.CharField(help_text="Empty until the application is submitted.")
    service = ApplicationServiceOutputSerializer()
    status = serializers.ChoiceField(choices=Status.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


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
