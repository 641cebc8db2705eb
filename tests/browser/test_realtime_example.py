"""The browser example of docs/realtime.md works in a real browser: Chromium opens
/static/realtime/example.html on a real uvicorn gateway, signs in, follows the citizen's
applications, shows a live event, and after a reload resumes with the one it missed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.realtime.models import RealtimeEvent
from tests.realtime.test_uvicorn import _submit, committed, gateway  # noqa: F401 - fixtures

PASSWORD = "Un-mot-de-passe-solide-2026"


@pytest.fixture
def _close_connections_at_the_end() -> Iterator[None]:
    """Requested first, so it ends last (after ``committed`` cleaned up): beside Playwright's
    greenlet the connections this test opened are not the session's to close."""
    from django.db import connections

    yield
    connections.close_all()


@pytest.mark.slow
@pytest.mark.usefixtures("_close_connections_at_the_end")
def test_the_browser_example_connects_authenticates_and_resumes(
    browser: Any,
    gateway: int,  # noqa: F811 - the fixture imported above
    committed: dict[str, Any],  # noqa: F811 - the fixture imported above
    django_db_blocker: Any,
) -> None:
    with django_db_blocker.unblock():
        citizen = committed["citizen"]
        citizen.set_password(PASSWORD)
        citizen.save(update_fields=["password"])
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    log = page.locator("#log")
    expect = pytest.importorskip("playwright.sync_api").expect

    def follow() -> None:
        page.goto(f"http://127.0.0.1:{gateway}/static/realtime/example.html")
        page.fill("input[name=login]", citizen.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("#signin button")
        expect(log).to_contain_text("signed in", timeout=10_000)
        page.fill("input[name=port]", "")  # the gateway serves this page: same origin
        page.select_option("select[name=stream]", "applications")
        page.click("#follow button[type=submit], #follow button:not([type])")

    try:
        follow()
        expect(log).to_contain_text("subscribed", timeout=10_000)
        with django_db_blocker.unblock():
            live = _submit(committed)
            live_id = RealtimeEvent.objects.get(application_id=live.id).id
        expect(log).to_contain_text(f"#{live_id} ", timeout=10_000)
        # The page goes away; an event happens meanwhile; the page comes back and resumes.
        page.goto("about:blank")
        with django_db_blocker.unblock():
            missed = _submit(committed)
            missed_id = RealtimeEvent.objects.get(application_id=missed.id).id
        follow()
        expect(log).to_contain_text("caught_up", timeout=10_000)
        text = log.text_content() or ""
    finally:
        context.close()

    assert f"#{missed_id} application.status_changed: {missed.reference} Déposée" in text
    assert f"subscribed last_id={live_id}" in text  # resumed from the last id seen
