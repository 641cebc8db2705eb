"""Normalising the identifiers people sign in with: email addresses and phone numbers.

E-mail addresses get one canonical form wherever they are stored or compared
(``canonical_email``): Unicode NFKC (fullwidth letters become ASCII), default-ignorable code
points removed (zero-width characters, bidi controls, variation selectors...), lowercased, the
domain mapped through IDNA 2008 / UTS #46 (``idna``, ``uts46=True``) and kept as its U-label.
``normalize_email`` also refuses a local part or a domain label that mixes scripts (Latin
with Cyrillic, say) with 400 ``email_mixed_script``, and validates the address.
``email_skeleton`` maps every non-ASCII character to the ASCII character it can be mistaken
for (Unicode confusables, ``confusable_homoglyphs``), so two addresses that differ only by
homoglyphs share a skeleton: ``User.email_skeleton`` is unique, and sign-up refuses the second
(409 ``account_exists``). ``manage.py accounts_lookalikes`` reports existing collisions.
"""

from __future__ import annotations

import functools
import unicodedata

import idna
import phonenumbers
from confusable_homoglyphs import confusables
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


# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 15.1).
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _is_default_ignorable(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


def _without_ignorables(value: str) -> str:
    if value.isascii():
        return value
    return "".join(c for c in value if not _is_default_ignorable(c))


def _canonical_domain(domain: str) -> str:
    """The domain's U-label form after UTS #46 mapping; ValueError if it is not a valid IDN."""
    if domain.isascii():
        return domain.lower()
    try:
        return str(idna.decode(idna.encode(domain, uts46=True)))
    except idna.IDNAError as exc:
        raise ValueError(str(exc)) from exc


def canonical_email(raw: str) -> str:
    """The form an address is stored and compared in (no validation; see module docstring)."""
    value = _without_ignorables(unicodedata.normalize("NFKC", raw)).strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    try:
        domain = _canonical_domain(domain)
    except ValueError:
        return value
    return f"{local}@{domain}"


def _is_mixed_script(text: str) -> bool:
    return bool(text) and not text.isascii() and confusables.is_mixed_script(text)


def normalize_email(raw: str) -> str:
    """A validated e-mail address in its canonical form.

    Raises ``ValidationError``: code ``email_mixed_script`` when the local part or the domain
    mixes scripts, ``invalid`` when it is not a valid address.
    """
    value = _without_ignorables(unicodedata.normalize("NFKC", raw)).strip().lower()
    local, at, domain = value.rpartition("@")
    if at:
        try:
            domain = _canonical_domain(domain)
        except ValueError as exc:
            raise ValidationError(_("Enter a valid email address."), code="invalid") from exc
        if _is_mixed_script(local) or any(_is_mixed_script(x) for x in domain.split(".")):
            raise ValidationError(
                _("The address mixes letters of different scripts."), code="email_mixed_script"
            )
        value = f"{local}@{domain}"
    validate_email(value)
    return value


@functools.lru_cache(maxsize=4096)
def _ascii_lookalike(char: str) -> str:
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    for entry in found or []:
        for glyph in entry.get("homoglyphs", []):
            candidate = str(glyph.get("c", ""))
            if candidate.isascii() and candidate.strip():
                return candidate.lower()
    return char


def email_skeleton(email: str) -> str:
    """The address with every non-ASCII character replaced by the ASCII character it can be
    taken for: two addresses that look alike share it. ASCII characters are kept (``l`` and
    ``1`` stay different: both are plain addresses people type)."""
    value = canonical_email(email)
    if value.isascii():
        return value
    return "".join(c if c.isascii() else _ascii_lookalike(c) for c in value)


def normalize_login(raw: str) -> tuple[str, str]:
    """``("email", value)`` or ``("phone", value)`` for what a person typed to sign in."""
    value = raw.strip()
    if "@" in value:
        return "email", normalize_email(value)
    return "phone", normalize_phone(value)
