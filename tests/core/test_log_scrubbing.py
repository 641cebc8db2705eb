"""Logs carry no citizen data, even when an exception quotes it.

A scenario with recognisable personal data — sign-up, sign-in, a draft with answers, a database
error whose message quotes the answers, a unique violation whose DETAIL quotes the e-mail, a
library logging an exception's repr — runs with every logger at DEBUG and DEBUG on (Django's
SQL log), and every line written through the project's log formatter is captured: none holds
the data, while the errors themselves are logged (class, SQLSTATE, constraint).
"""

from __future__ import annotations

import io
import logging
import logging.config

import pytest
from django.db import connection, transaction

from apps.applications import services
from apps.applications.api import views as application_views
from apps.core.logging import build_logging_config
from apps.core.logscrub import exception_summary, scrub_text
from tests.applications.conftest import SERVICE_CODE, service_create
from tests.conftest import HOST_A, PUBLIC_HOST

pytestmark = pytest.mark.django_db

FIRST, LAST = "Afiwa", "Mensah-Kpodar"
EMAIL = "afiwa.mensah@exemple.tg"
PHONE = "+22890071234"
PLACE = "Quartier Bè-Kpota"
PERSONAL = [FIRST, LAST, EMAIL, "afiwa.mensah", PHONE, "90071234", "90 07 12 34", PLACE, "Kpota"]


@pytest.fixture
def captured(settings):
    """Every log line the project's formatter writes, at DEBUG, with Django's SQL log on."""
    settings.DEBUG = True
    config = build_logging_config(level="DEBUG", fmt="json")
    stream = io.StringIO()
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"]["structured"]
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in config["loggers"]}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name, options in config["loggers"].items():
        logging.getLogger(name).setLevel(options["level"])
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def test_a_scenario_with_personal_data_logs_none_of_it(api, agency_a, captured, monkeypatch):
    service_create(agency_a.schema_name)
    public = api(PUBLIC_HOST)
    registered = public.post(
        "/api/v1/auth/register/",
        {
            "email": EMAIL,
            "phone": PHONE,
            "password": "une phrase de passe longue",
            "first_name": FIRST,
            "last_name": LAST,
        },
        format="json",
    )
    assert registered.status_code == 201, registered.content
    public.post("/api/v1/auth/token/", {"login": EMAIL, "password": "pas la bonne"}, format="json")
    signed_in = public.post(
        "/api/v1/auth/token/",
        {"login": PHONE, "password": "une phrase de passe longue", "portal": "citizen"},
        format="json",
    )
    token = signed_in.json()["access"]
    client = api(HOST_A, token)
    answers = {"nom": LAST, "naissance": {"date": "2001-04-12", "lieu": PLACE}, "copies": 1}
    draft = client.post("/api/v1/applications/", {"service": SERVICE_CODE}, format="json")
    assert draft.status_code == 201, draft.content
    client.patch(f"/api/v1/applications/{draft.json()['id']}/", {"form_data": answers}, "json")

    def answers_reach_a_failing_query(**kwargs):  # a database error quoting the answers
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::integer", [f"{LAST} {PLACE} {PHONE}"])

    monkeypatch.setattr(services, "application_create", answers_reach_a_failing_query)
    crashed = client.post("/api/v1/applications/", {"service": SERVICE_CODE}, format="json")
    assert crashed.status_code == 500

    def duplicate_person(**kwargs):  # a unique violation whose DETAIL quotes the e-mail
        from apps.accounts.models import User

        with transaction.atomic():
            User.objects.create(email=EMAIL, phone="+22890000999")

    monkeypatch.setattr(services, "application_create", duplicate_person)
    monkeypatch.setattr(application_views.services, "application_create", duplicate_person)
    crashed = client.post("/api/v1/applications/", {"service": SERVICE_CODE}, format="json")
    assert crashed.status_code == 500
    try:
        raise ValueError(f"cannot notify {FIRST} {LAST} at {EMAIL} / {PHONE}")
    except ValueError as exc:
        logging.getLogger("celery.app.trace").error("Task raised unexpected: %r", exc)
        logging.getLogger("some.library").exception("failed for %s", EMAIL)

    lines = captured.getvalue()
    assert lines.count("\n") > 8  # the scenario was logged
    assert "sqlstate=22P02" in lines  # the database errors themselves are there
    assert "sqlstate=23505" in lines
    assert "accounts_user_email" in lines
    leaked = [value for value in PERSONAL if value.lower() in lines.lower()]
    assert leaked == [], [line for line in lines.splitlines() if any(v in line for v in leaked)]


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (
            'duplicate key value violates unique constraint "accounts_user_email_key"\n'
            "DETAIL:  Key (email)=(a@b.tg) already exists.",
            "accounts_user_email_key",
            "a@b.tg",
        ),
        ('invalid input syntax for type integer: "Mensah"', "type integer", "Mensah"),
        ("call +228 90 07 12 34 now", "call", "90 07"),
        ("user 3f1c2d0e-9b8a-4c7d-8e9f-0a1b2c3d4e5f failed", "3f1c2d0e-9b8a-4c7d-8e9f", "«"),
        ("x" * 1000, "xxx", "x" * 301),
    ],
)
def test_scrub_text(text, kept, gone):
    scrubbed = scrub_text(text)

    assert kept in scrubbed
    assert gone not in scrubbed


def test_other_messages_are_withheld_and_the_projects_are_scrubbed():
    from apps.core.errors import ApplicationError

    assert exception_summary(ValueError(f"{FIRST} {LAST}")) == ("(message withheld: 19 characters)")
    assert exception_summary(KeyError(LAST)) == "(message withheld: 15 characters)"
    assert exception_summary(AttributeError("'NoneType' object has no attribute 'pk'")) == (
        "'…' object has no attribute '…'"
    )
    assert exception_summary(ApplicationError(f"bad {EMAIL}")) == "bad [email]"


def test_validation_errors_keep_only_their_codes():
    from django.core.exceptions import ValidationError

    summary = exception_summary(ValidationError("%(v)s is wrong", code="bad", params={"v": LAST}))

    assert summary == "codes=['bad']"
