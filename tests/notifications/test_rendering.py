"""Notification texts exist in French and English and follow the recipient's language."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from apps.notifications.rendering import Template, language_of, render_notification


def _context() -> dict:
    service = SimpleNamespace(name_fr="Copie d'acte de naissance", name_en="Birth certificate copy")
    application = SimpleNamespace(
        reference="AA-2026-000042",
        service=service,
        due_at=datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Africa/Lome")),
        info_request="Photo <illisible> & floue",
        decision_reason="Dossier complet",
        get_status_display=lambda: "En cours",
    )
    return {
        "recipient": SimpleNamespace(first_name="Afi"),
        "agency": SimpleNamespace(name_fr="Agence A", name_en="Agency A"),
        "application": application,
        "certificate": SimpleNamespace(
            reference="AA-2026-000042",
            code="ABCDEF",
            service_name_fr="Copie d'acte de naissance",
            service_name_en="Birth certificate copy",
        ),
        "verify_url": "http://agence-a.localhost/verify/ABCDEF/",
    }


@pytest.mark.parametrize("template", sorted(Template.ALL))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_template_renders_in_both_languages(template, language):
    rendered = render_notification(
        template=template, preferred_language=language, context=_context()
    )

    assert rendered.language == language
    assert rendered.sms
    assert "\n" not in rendered.sms
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.body.strip()
    if template not in (Template.CONTACT_CHANGED, Template.PASSWORD_CHANGED):  # account notices
        assert "AA-2026-000042" in rendered.sms + rendered.subject
    assert "&#x27;" not in rendered.body + rendered.sms  # plain text: nothing HTML-escaped
    assert "&amp;" not in rendered.body


def test_french_and_english_texts_differ_and_dates_follow_the_language():
    french = render_notification(
        template=Template.APPLICATION_SUBMITTED, preferred_language="fr", context=_context()
    )
    english = render_notification(
        template=Template.APPLICATION_SUBMITTED, preferred_language="en", context=_context()
    )

    assert "reçue" in french.sms
    assert "3 décembre 2026" in french.body
    assert "received" in english.sms
    assert "December 3, 2026" in english.body
    assert "Agence A" in french.body
    assert "Agency A" in english.body


def test_information_request_is_quoted_verbatim():
    rendered = render_notification(
        template=Template.APPLICATION_INFO_REQUESTED, preferred_language="fr", context=_context()
    )
    assert "Photo <illisible> & floue" in rendered.body


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [("fr", "fr"), ("en", "en"), ("en-GB", "en"), ("", "fr"), (None, "fr"), ("ee", "fr")],
)
def test_language_falls_back_to_french(preferred, expected):
    assert language_of(preferred) == expected


def test_an_unknown_template_is_refused():
    with pytest.raises(ValueError, match="unknown notification template"):
        render_notification(template="spam", preferred_language="fr", context={})
