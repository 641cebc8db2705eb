"""Input serializers of the application APIs: strict, one per operation (unique names)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.applications.api.descriptions import FIELDS
from apps.applications.services.notes import MAX_NOTE_CHARS
from apps.applications.services.transitions import MAX_REASON_CHARS
from apps.core.serializers import StrictInputSerializer

# --- Inputs ----------------------------------------------------------------------------------


class ApplicationCreateInputSerializer(StrictInputSerializer):
    service = serializers.SlugField(max_length=64, help_text=_("Code of a published service."))
    form_data = serializers.DictField(
        required=False, help_text=_("Answers to the service's form (checked against its schema).")
    )


class ApplicationFormInputSerializer(StrictInputSerializer):
    form_data = serializers.DictField(
        help_text=_("Every answer of the form (replaces the draft's).")
    )


class AttachmentUploadInputSerializer(StrictInputSerializer):
    document_type = serializers.SlugField(max_length=64, help_text=FIELDS["document_type"])
    file = serializers.FileField(
        allow_empty_file=False, use_url=False, help_text=_("The document (multipart file part).")
    )


class ApplicationWithdrawInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_CHARS,
        trim_whitespace=True,
        help_text=_("Why, if you wish to say (kept in the history)."),
    )


class ApplicationAnswerInfoInputSerializer(StrictInputSerializer):
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_CHARS,
        trim_whitespace=True,
        help_text=_("Your answer to the agency's request."),
    )
    form_data = serializers.DictField(
        required=False, help_text=_("Corrected answers, if the request was about them.")
    )


class StaffEmptyInputSerializer(StrictInputSerializer):
    """No body (or an empty object)."""


class StaffAssignInputSerializer(StrictInputSerializer):
    assignee = serializers.UUIDField(help_text=_("Id of an agent, supervisor or admin."))
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_CHARS,
        help_text=_("Why (kept in the history, not shown to the citizen)."),
    )


class StaffRequestInfoInputSerializer(StrictInputSerializer):
    message = serializers.CharField(
        max_length=MAX_REASON_CHARS, help_text=_("What the citizen must provide (shown to them).")
    )


class StaffDecisionInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_CHARS,
        help_text=_("Shown to the citizen."),
    )


class StaffRejectInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=MAX_REASON_CHARS, help_text=_("Why (required; shown to the citizen).")
    )


class StaffNoteInputSerializer(StrictInputSerializer):
    body = serializers.CharField(
        max_length=MAX_NOTE_CHARS, help_text=_("The note (seen by the agency's staff only).")
    )
