"""French by default, English on request: API problem documents, pages, the console."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from apps.accounts.models import Role
from apps.certificates.codes import code_new
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem, otp_login

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN_URL = "/api/v1/auth/token/"


def _wrong_password(api, **headers):
    return api(PUBLIC_HOST).post(
        TOKEN_URL, {"login": "personne@example.tg", "password": "pas le bon"}, **headers
    )


def test_api_messages_are_french_by_default(api, citizen):
    body = assert_problem(_wrong_password(api), 401, "invalid_credentials")

    assert body["detail"] == "L'identifiant ou le mot de passe est incorrect."


def test_api_messages_follow_accept_language(api, citizen):
    english = assert_problem(
        _wrong_password(api, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9,fr;q=0.5"),
        401,
        "invalid_credentials",
    )
    french = assert_problem(
        _wrong_password(api, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"), 401, "invalid_credentials"
    )
    unsupported = assert_problem(
        _wrong_password(api, HTTP_ACCEPT_LANGUAGE="de-DE"), 401, "invalid_credentials"
    )

    assert english["detail"] == "The login or the password is wrong."
    assert french["detail"] == "L'identifiant ou le mot de passe est incorrect."
    assert unsupported["detail"] == french["detail"]  # French is the fallback
    assert english["code"] == french["code"]  # codes never change with the language


def test_field_errors_are_translated_too(api):
    french = api(PUBLIC_HOST).post(TOKEN_URL, {"login": "x"})
    english = api(PUBLIC_HOST).post(TOKEN_URL, {"login": "x"}, HTTP_ACCEPT_LANGUAGE="en")

    assert assert_problem(french, 400, "validation_failed")["errors"]["password"] == [
        "Ce champ est obligatoire."
    ]
    assert assert_problem(english, 400, "validation_failed")["errors"]["password"] == [
        "This field is required."
    ]


def test_verification_answers_in_the_callers_language(api, agency_a):
    path = f"/api/v1/verify/{code_new()}/"
    french = assert_problem(api(HOST_A).get(path), 404, "certificate_unknown")
    english = assert_problem(
        api(HOST_A).get(path, HTTP_ACCEPT_LANGUAGE="en"), 404, "certificate_unknown"
    )

    assert french["detail"] == (
        "Aucune attestation de cette administration n'a ce code de vérification."
    )
    assert english["detail"] == "No certificate of this agency has this verification code."


def test_the_console_is_french(client, agency_a, staff_of):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    client.defaults["HTTP_HOST"] = HOST_A
    login_page = client.get("/admin/login/")
    otp_login(client, admin)

    index = client.get("/admin/").content.decode()
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'lang="fr"' in login_page.content.decode()
    assert "Connexion" in login_page.content.decode()
    assert "Guichet — console" in index
    assert "Attestations" in index
    assert "Boîte d&#x27;envoi" in index
    assert "Déconnexion" in index or "Se déconnecter" in index
    assert "Certificates" in english


def test_the_french_catalogue_translates_every_entry():
    po = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    stats = result.stderr.strip()
    translated = int(re.match(r"(\d+) translated message", stats).group(1))
    assert translated > 200, stats
    assert "fuzzy" not in stats, stats
    assert "untranslated" not in stats, stats


def test_the_english_catalogue_exists():
    assert (ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po").exists()


def test_makemessages_extracts_the_lazy_alias_too():
    from django.core.management import get_commands

    from apps.core.management.commands.makemessages import Command

    assert get_commands()["makemessages"] == "apps.core"
    assert "--keyword=_lazy" in Command.xgettext_options
