"""Notification texts: one template set per language under ``templates/notifications/``.

Each notification ``<name>`` has, for each language ``<lang>`` (``fr``, ``en``):

* ``notifications/<lang>/<name>.sms.txt``: the SMS (short, plain text);
* ``notifications/<lang>/<name>.subject.txt``: the e-mail subject (one line);
* ``notifications/<lang>/<name>.email.txt``: the e-mail body (plain text).

The language is the recipient's ``preferred_language`` (French when unset or unknown), and the
rendering happens with that language active, so dates and names follow it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


class Template:
    """The notifications that exist (the ``template`` member of a notification payload)."""

    APPLICATION_SUBMITTED = "application_submitted"
    APPLICATION_INFO_REQUESTED = "application_info_requested"
    APPLICATION_APPROVED = "application_approved"
    APPLICATION_REJECTED = "application_rejected"
    CERTIFICATE_ISSUED = "certificate_issued"
    APPLICATION_ASSIGNED = "application_assigned"
    DEADLINE_APPROACHING = "deadline_approaching"
    # To the old address after a change of e-mail or phone (apps.accounts.contacts).
    CONTACT_CHANGED = "contact_changed"
    # To every address of a person whose password was reset (apps.accounts.passwords).
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a template name

    ALL = frozenset(
        {
            APPLICATION_SUBMITTED,
            APPLICATION_INFO_REQUESTED,
            APPLICATION_APPROVED,
            APPLICATION_REJECTED,
            CERTIFICATE_ISSUED,
            APPLICATION_ASSIGNED,
            DEADLINE_APPROACHING,
            CONTACT_CHANGED,
            PASSWORD_CHANGED,
        }
    )


SUPPORTED_LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class RenderedNotification:
    """The texts of one notification in one language."""

    language: str
    sms: str
    subject: str
    body: str


def language_of(preferred: str | None) -> str:
    """The language to write in: the preferred one if supported, else the default (French)."""
    code = (preferred or "").split("-")[0].lower()
    if code in SUPPORTED_LANGUAGES:
        return code
    return str(settings.LANGUAGE_CODE).split("-")[0]


def render_notification(
    *, template: str, preferred_language: str | None, context: dict[str, Any]
) -> RenderedNotification:
    """Render ``template`` in the recipient's language."""
    if template not in Template.ALL:
        raise ValueError(f"unknown notification template {template!r}")
    language = language_of(preferred_language)
    prefix = f"notifications/{language}/{template}"
    with translation.override(language):
        sms = render_to_string(f"{prefix}.sms.txt", context)
        subject = render_to_string(f"{prefix}.subject.txt", context)
        body = render_to_string(f"{prefix}.email.txt", context)
    return RenderedNotification(
        language=language,
        sms=" ".join(sms.split()),
        subject=" ".join(subject.split()),
        body=body.strip() + "\n",
    )
