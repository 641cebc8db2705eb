"""Input and output serializers of the identity endpoints (unique names for OpenAPI)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.identifiers import normalize_email, normalize_phone
from apps.accounts.models import Language, Membership, User
from apps.accounts.tokens import TokenKind
from apps.core.errors import InvalidInput
from apps.core.serializers import StrictInputSerializer


class PhoneField(serializers.CharField):
    """A phone number, normalised to E.164."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code="invalid_phone") from exc


class NormalizedEmailField(serializers.EmailField):
    """An email address in canonical form (``identifiers.normalize_email``).

    A mixed-script address is refused with its own problem code, ``email_mixed_script``.
    """

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_email(value)
        except DjangoValidationError as exc:
            if exc.code == "email_mixed_script":
                raise InvalidInput(
                    exc.messages[0],
                    code="email_mixed_script",
                    errors={self.field_name or "email": exc.messages},
                ) from exc
            raise serializers.ValidationError(exc.messages, code="invalid") from exc


class RegisterInputSerializer(StrictInputSerializer):
    """A citizen's sign-up: an email address and/or a phone number, and a password."""

    email = NormalizedEmailField(
        required=False,
        max_length=254,
        help_text=_("Email address (stored lowercased); give it, the phone number or both."),
    )
    phone = PhoneField(
        required=False,
        max_length=32,
        help_text=_(
            "Phone number, international (+22890112233) or national (90112233, read in the "
            "platform's default region); stored in E.164."
        ),
    )
    password = serializers.CharField(
        write_only=True,
        max_length=128,
        trim_whitespace=False,
        help_text=_("The new account's password (at least 10 characters, not a common one)."),
    )
    first_name = serializers.CharField(
        max_length=150, required=False, default="", help_text=_("Given name.")
    )
    last_name = serializers.CharField(
        max_length=150, required=False, default="", help_text=_("Family name.")
    )
    preferred_language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        default=Language.FRENCH,
        help_text=_("Language of messages, emails and SMS sent to this person."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError(
                _("Give an email address or a phone number."), code="identifier_required"
            )
        return attrs


class TokenObtainInputSerializer(StrictInputSerializer):
    """Sign-in with an email address or phone number."""

    login = serializers.CharField(max_length=254, help_text=_("Email address or phone number."))
    password = serializers.CharField(
        write_only=True, max_length=128, trim_whitespace=False, help_text=_("The password.")
    )
    portal = serializers.ChoiceField(
        choices=[str(TokenKind.CITIZEN), str(TokenKind.STAFF), str(TokenKind.PLATFORM)],
        default=str(TokenKind.CITIZEN),
        help_text=_(
            "citizen (any host), staff (an agency host, for its members) or platform "
            "(public host, platform administrators)."
        ),
    )
    device_token = serializers.CharField(
        required=False,
        max_length=512,
        help_text=_(
            "The device_token an earlier successful sign-in returned on this device: the "
            "device keeps signing in while failures from elsewhere lock the account."
        ),
    )
    otp = serializers.CharField(
        required=False,
        max_length=32,
        trim_whitespace=True,
        help_text=_(
            "Staff and platform sign-ins: the 6-digit code of the authenticator app, or one of "
            "the recovery codes. Without it the answer is 403 mfa_required with an mfa_token "
            "to send with the code to /api/v1/auth/token/mfa/."
        ),
    )


class RefreshInputSerializer(StrictInputSerializer):
    """A refresh token to rotate or revoke."""

    refresh = serializers.CharField(
        max_length=2048, help_text=_("The refresh token received with the access token.")
    )


class TokenOutputSerializer(serializers.Serializer):
    """Tokens for a person."""

    access = serializers.CharField(
        help_text=_("Access token (JWT): send it as `Authorization: Bearer <access>`.")
    )
    refresh = serializers.CharField(
        help_text=_(
            "Refresh token: exchange it once for new tokens at /api/v1/auth/token/refresh/."
        )
    )
    token_type = serializers.CharField(help_text=_("Always `Bearer`."))
    expires_in = serializers.IntegerField(help_text=_("Seconds until the access token expires."))
    kind = serializers.CharField(help_text=_("`citizen`, `staff` or `platform`."))
    agency = serializers.CharField(
        allow_null=True,
        help_text=_(
            "Schema of the agency a staff or platform token is bound to; null for citizens, "
            "whose tokens are valid on every host."
        ),
    )
    device_token = serializers.CharField(
        required=False,
        help_text=_("Keep it on this device and send it with later sign-ins (token endpoint)."),
    )


class PartnerTokenInputSerializer(StrictInputSerializer):
    """OAuth2 client-credentials grant (JSON or form-encoded)."""

    grant_type = serializers.ChoiceField(
        choices=["client_credentials"], help_text=_("Always `client_credentials`.")
    )
    client_id = serializers.CharField(
        max_length=64, help_text=_("The client identifier given with the credentials.")
    )
    client_secret = serializers.CharField(
        max_length=256, trim_whitespace=False, help_text=_("The client secret, shown once.")
    )
    scope = serializers.CharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        help_text=_(
            "Space-separated scopes wanted, among those granted in this agency (e.g. "
            "`certificates:verify catalogue:read`); empty or absent: every granted scope."
        ),
    )


class PartnerTokenOutputSerializer(serializers.Serializer):
    """A partner's short-lived access token."""

    access_token = serializers.CharField(
        help_text=_("Access token (JWT) for this agency's host: `Authorization: Bearer ...`.")
    )
    token_type = serializers.CharField(help_text=_("Always `Bearer`."))
    expires_in = serializers.IntegerField(help_text=_("Seconds until the token expires."))
    scope = serializers.CharField(help_text=_("Space-separated scopes the token carries."))


class MembershipOutputSerializer(serializers.ModelSerializer):
    """A civil servant's role in one agency."""

    agency: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=_("Slug of the agency.")
    )

    class Meta:
        model = Membership
        fields = ("agency", "role")
        extra_kwargs = {"role": {"help_text": _("Role of the person in that agency.")}}


class MeOutputSerializer(serializers.ModelSerializer):
    """The caller's own profile."""

    memberships = serializers.SerializerMethodField(
        help_text=_("The person's active roles in agencies (empty for citizens).")
    )

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "phone",
            "email_verified_at",
            "phone_verified_at",
            "first_name",
            "last_name",
            "preferred_language",
            "memberships",
        )
        extra_kwargs = {
            "id": {"help_text": _("The person's identifier, the same on every host.")},
            "email": {"help_text": _("Email address, lowercased; null when none was given.")},
            "phone": {"help_text": _("Phone number in E.164; null when none was given.")},
            "email_verified_at": {
                "help_text": _("When the email address was confirmed; null until then.")
            },
            "phone_verified_at": {
                "help_text": _("When the phone number was confirmed; null until then.")
            },
            "first_name": {"help_text": _("Given name.")},
            "last_name": {"help_text": _("Family name.")},
            "preferred_language": {
                "help_text": _("Language of messages, emails and SMS sent to this person.")
            },
        }

    @extend_schema_field(MembershipOutputSerializer(many=True))
    def get_memberships(self, user: User) -> list[dict[str, Any]]:
        active = [m for m in user.memberships.all() if m.is_active]
        return list(MembershipOutputSerializer(active, many=True).data)


class MeUpdateInputSerializer(StrictInputSerializer):
    """What a person may change about themselves here (email and phone need verification)."""

    first_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, help_text=_("Given name.")
    )
    last_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, help_text=_("Family name.")
    )
    preferred_language = serializers.ChoiceField(
        choices=Language.choices,
        required=False,
        help_text=_("Language of messages, emails and SMS sent to this person."),
    )


class RegisterOutputSerializer(MeOutputSerializer):
    """The account just created."""


class StaffMeOutputSerializer(serializers.Serializer):
    """The caller's role in the agency whose host was called."""

    agency = serializers.CharField(help_text=_("Agency slug."))
    agency_name = serializers.CharField(help_text=_("Agency name, in the language of the request."))
    role = serializers.CharField(help_text=_("`agent`, `supervisor`, `agency_admin` or `auditor`."))


class VerifyRequestInputSerializer(StrictInputSerializer):
    """Which of my addresses to send a one-time code to."""

    channel = serializers.ChoiceField(
        choices=["email", "phone"], help_text=_("Which address receives the code.")
    )


class VerifyRequestOutputSerializer(serializers.Serializer):
    """A code is on its way."""

    channel = serializers.CharField(help_text=_("`email` or `phone`: where the code was sent."))
    expires_in = serializers.IntegerField(help_text=_("Seconds the code stays valid."))


class VerifyConfirmInputSerializer(StrictInputSerializer):
    """The code received on that address."""

    channel = serializers.ChoiceField(
        choices=["email", "phone"], help_text=_("The address the code was sent to.")
    )
    code = serializers.RegexField(
        r"^[0-9]{6}$", max_length=6, min_length=6, help_text=_("The six digits received.")
    )


class PasswordChangeInputSerializer(StrictInputSerializer):
    """The current password and the new one."""

    current_password = serializers.CharField(
        max_length=128, trim_whitespace=False, help_text=_("The password in use now.")
    )
    new_password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        help_text=_("The new password (at least 10 characters, not a common one)."),
    )
