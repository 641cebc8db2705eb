"""The console's queue page updates live, in a real browser: Chromium opens the queue on a real
uvicorn (Django's HTTP views and the gateway on one origin), the page gets a token for its
console session (``/admin/realtime-token/``), follows the queue stream, and when a citizen
submits an application the notice (an aria-live status region) announces it with a link to
refresh the list; when another agent takes the file, its row and the notice say so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role, User
from apps.accounts.services import membership_grant
from apps.agencies.models import Agency
from tests.applications.conftest import advance
from tests.factories import UserFactory
from tests.helpers import otp_login
from tests.realtime.test_uvicorn import _submit, committed, gateway  # noqa: F401 - fixtures

# Records every state queue-live.js reports (it keeps only the last on <html data-realtime>).
RECORD_STATES = """
window.__realtimeStates = [];
new MutationObserver(() => {
  window.__realtimeStates.push(document.documentElement.dataset.realtime);
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-realtime"] });
"""


@pytest.fixture
def _close_connections_at_the_end() -> Iterator[None]:
    """Requested first, so it ends last: beside Playwright's greenlet the connections this test
    opened are not the session's to close."""
    from django.db import connections

    yield
    connections.close_all()


@pytest.fixture
def staff(django_db_blocker: Any) -> Iterator[dict[str, User]]:
    """A supervisor of agency A (sees every file) and an agent, committed (the server is another
    process); removed afterwards."""
    with django_db_blocker.unblock():
        agency = Agency.objects.get(schema_name="agence_a")
        people = {}
        for role in (Role.SUPERVISOR, Role.AGENT):
            person = UserFactory(email=f"{role}-{uuid.uuid4().hex[:10]}@example.tg")
            membership_grant(user=person, agency=agency, role=role)
            people[role] = person
    try:
        yield people
    finally:
        with django_db_blocker.unblock(), schema_context("agence_a"):
            from django.contrib.sessions.models import Session

            ids = {str(person.pk) for person in people.values()}
            for session in Session.objects.all():
                if session.get_decoded().get("_auth_user_id") in ids:
                    session.delete()
            TOTPDevice.objects.filter(user__in=people.values()).delete()
            Membership.objects.filter(user__in=people.values()).delete()
            User.objects.filter(pk__in=ids).delete()


@pytest.mark.slow
@pytest.mark.usefixtures("_close_connections_at_the_end")
def test_the_queue_page_announces_a_new_submission_live(
    browser: Any,
    gateway: int,  # noqa: F811 - the fixture imported above
    staff: dict[str, User],  # before committed: its people outlive the files they took
    committed: dict[str, Any],  # noqa: F811 - the fixture imported above
    django_db_blocker: Any,
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    host = "agence-a.localhost"
    origin = f"http://{host}:{gateway}"
    with django_db_blocker.unblock():
        client = Client(HTTP_HOST=host)
        otp_login(client, staff[Role.SUPERVISOR])
        session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(
        locale="fr-FR",
        viewport={"width": 1366, "height": 768},
        extra_http_headers={"Accept-Language": "fr"},
    )
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": f"{origin}/"}]
    )
    context.add_init_script(RECORD_STATES)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def failed(response: Any) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url} {response.text()[:300]}")

    page.on("response", failed)
    try:
        page.goto(f"{origin}/admin/applications/application/")
        expect(page.locator("h1")).to_have_text("Demandes")
        try:
            page.wait_for_function(
                "() => (window.__realtimeStates || []).includes('subscribed')", timeout=15_000
            )
        except Exception as exc:
            states = page.evaluate("() => window.__realtimeStates")
            raise AssertionError(f"not subscribed: {states} {problems}") from exc
        with django_db_blocker.unblock():
            application = _submit(committed)
        status = page.locator("#queue-live-notice [role=status]")
        expect(status).to_contain_text(f"Nouvelle demande {application.reference}", timeout=10_000)
        refresh = page.locator("#queue-live-notice a[data-queue-refresh]")
        expect(refresh).to_be_visible()
        expect(refresh).to_have_text("Actualiser la liste")
        refresh.click()
        row = page.locator(f'[data-application-id="{application.pk}"]')
        expect(row).to_be_visible()
        # Another agent takes the file: its row says so, and the notice too.
        page.wait_for_function(
            "() => (window.__realtimeStates || []).includes('subscribed')", timeout=15_000
        )
        with django_db_blocker.unblock():
            advance("agence_a", application, "take", staff[Role.AGENT], Role.AGENT)
        expect(row.locator(".queue-live-row-note")).to_have_text(
            "Prise par un autre agent", timeout=10_000
        )
        expect(status).to_contain_text(f"{application.reference} : Prise par un autre agent")
    finally:
        context.close()

    assert not [p for p in problems if "Content Security Policy" in p], problems
