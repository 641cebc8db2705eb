"""Normalising the identifiers people sign in with: email addresses and phone numbers."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _


def normalize_phone(raw: str) -> str:
    """The E.164 form of a phone number; numbers without ``+`` use PHONE_DEFAULT_REGION.

    Raises ``ValidationError`` when the number is not a valid one.
    """
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A validated, lowercased email address."""
    value = raw.strip().lower()
    validate_email(value)
    return value


def normalize_login(raw: str) -> tuple[str, str]:
    """``("email", value)`` or ``("phone", value)`` for what a person typed to sign in."""
    value = raw.strip()
    if "@" in value:
        return "email", normalize_email(value)
    return "phone", normalize_phone(value)
