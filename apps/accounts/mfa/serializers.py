"""Input and output of the second-factor endpoints (unique names for drf-spectacular)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from apps.core.serializers import StrictInputSerializer

MfaRequiredProblemSerializer = inline_serializer(
    name="MfaRequiredProblem",
    fields={
        "type": serializers.URLField(help_text=_("URI of the kind of problem.")),
        "title": serializers.CharField(help_text=_("Short summary of the HTTP status.")),
        "status": serializers.IntegerField(help_text=_("403.")),
        "detail": serializers.CharField(help_text=_("Explanation for a person.")),
        "code": serializers.CharField(
            help_text=_("mfa_required, mfa_enrolment_required, not_agency_staff, ...")
        ),
        "request_id": serializers.CharField(help_text=_("Identifier of the request in the logs.")),
        "mfa_token": serializers.CharField(
            required=False,
            help_text=_(
                "mfa_required at the token endpoint: send it with the code to "
                "/api/v1/auth/token/mfa/ (single use)."
            ),
        ),
        "expires_in": serializers.IntegerField(
            required=False, help_text=_("Seconds the mfa_token stays valid.")
        ),
        "methods": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text=_("Codes accepted: `totp` (authenticator app), `recovery_code`."),
        ),
    },
)


class MfaTokenInputSerializer(StrictInputSerializer):
    """Second step of a staff or platform sign-in."""

    mfa_token = serializers.CharField(
        max_length=128, help_text=_("The mfa_token of the 403 mfa_required answer.")
    )
    otp = serializers.CharField(
        max_length=32,
        help_text=_("The 6-digit code of the authenticator app, or one of the recovery codes."),
    )


class SecondFactorResetInputSerializer(StrictInputSerializer):
    """Whose second factor to reset."""

    user = serializers.UUIDField(help_text=_("Identifier of the person who lost their device."))
