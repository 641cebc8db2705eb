"""The agent's day in a real browser (Chromium at 1366×768, French), checked by axe-core.

Sign in, dashboard, find a file by the citizen's name, take it, request information (the
service clock stops), the citizen answers through the API (it resumes), decide with a reason,
and the auditor finds every step under the reference. Every page is looked at: no table or
container clipped horizontally, no serious or critical WCAG 2.1 AA violation. Screenshots go to
``$CONSOLE_SCREENSHOTS`` (default: the test's temporary directory).
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.models import Application
from tests.applications.conftest import (  # noqa: F401 - fixtures used by this module
    VALID_FORM,
    advance,
    draft,
    media_root,
    service_create,
)
from tests.browser.axe import axe_violations, describe
from tests.conftest import HOST_A
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Every table and scrolling container of the console's pages.
CLIPPED = """() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) found.push('page ' + root.scrollWidth);
  for (const el of document.querySelectorAll(
      'table, .results, #changelist, #changelist-form, #content-main, .console-table-wrap')) {
    if (el.offsetParent === null) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const name = el.id || el.className || el.tagName;
      found.push(name + ' ' + el.scrollWidth + '>' + el.clientWidth);
    }
  }
  return found;
}"""


def citizen_api_post(url: str, *, token: str, body: dict[str, Any]) -> int:
    """POST JSON to the live server as a citizen's app would (loopback, agency host header)."""
    parts = urlsplit(url)
    request = urllib.request.Request(
        f"http://127.0.0.1:{parts.port}{parts.path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Host": parts.netloc,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(response.status)


def sign_in(page: Any, console_login: Any, user: Any, host: str = HOST_A) -> None:
    """The one place these tests open a console session (the harness's cookie injection)."""
    console_login(page, user, host)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def look(page: Any, shots: Path, name: str) -> None:
    """Screenshot, no clipped table, no serious accessibility violation."""
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert page.evaluate(CLIPPED) == [], name
    violations = axe_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"


def stored(pk: Any) -> Application:
    with schema_context("agence_a"):
        return Application.objects.get(pk=pk)


@pytest.fixture
def day(agency_a: Any, staff_of: Any, citizen: Any) -> dict[str, Any]:
    """Agency A with a service, a few files, an agent, a supervisor and an auditor."""
    service_create("agence_a")
    elodie = UserFactory(
        first_name="Élodie", last_name="Agbéko", phone="+22890112233", email="elodie@exemple.tg"
    )
    agent = staff_of(agency_a, Role.AGENT)
    agent.first_name, agent.last_name = "Kossi", "Mensah"
    agent.save()
    supervisor = staff_of(agency_a, Role.SUPERVISOR)
    auditor = staff_of(agency_a, Role.AUDITOR)
    files = []
    for owner in (citizen, citizen, elodie):
        files.append(advance("agence_a", draft("agence_a", owner), "submit", owner, "citizen"))
    held = advance("agence_a", files[0], "take", agent, Role.AGENT)
    advance("agence_a", held, "approve", agent, Role.AGENT, reason="Conforme")
    return {
        "elodie": elodie,
        "file": files[2],
        "agent": agent,
        "supervisor": supervisor,
        "auditor": auditor,
    }


def test_the_agents_day(page, live_url, console_login, day, shots, tokens):
    agent, application = day["agent"], day["file"]
    reference = stored(application.pk).reference
    sign_in(page, console_login, agent)

    # The dashboard.
    page.goto(live_url(HOST_A, "/admin/"))
    assert page.locator("#dashboard").is_visible()
    assert "mes dossiers ouverts" in page.inner_text("#dashboard")
    look(page, shots, "01-agent-dashboard")

    # The queue, then the file found by the citizen's name typed without accents.
    page.goto(live_url(HOST_A, "/admin/applications/application/"))
    assert page.locator("h1").inner_text() == "Demandes"
    page.fill("#searchbar", "elodie agbeko")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    assert page.locator("#result_list tbody tr").count() == 1
    look(page, shots, "02-queue-search")
    page.click(f"#result_list a:text('{reference}')")

    # Take it.
    page.get_by_role("link", name="M'assigner").click()
    page.click("input[type=submit]")
    assert stored(application.pk).status == "in_review"

    # Request information: the clock stops.
    page.get_by_role("link", name="Demander des informations").click()
    page.fill("textarea[name=reason]", "Merci de joindre une photo lisible de votre pièce.")
    look(page, shots, "03-request-info-form")
    page.click("input[type=submit]")
    paused = stored(application.pk)
    assert paused.status == "info_requested"
    assert paused.clock_paused_at is not None
    assert "suspendu" in page.inner_text(".console-clock")
    look(page, shots, "04-application-waiting")

    # The citizen answers through the API of the same server: the clock resumes. (Through
    # HTTP, not Django's test client: the test client reconnects the signal that would close
    # the test's shared connection on the server's next request.)
    status = citizen_api_post(
        live_url(HOST_A, f"/api/v1/applications/{application.pk}/answer-info/"),
        token=tokens(day["elodie"]).access,
        body={"message": "Photo jointe", "form_data": VALID_FORM},
    )
    assert status == 200
    resumed = stored(application.pk)
    assert resumed.status == "submitted"
    assert resumed.clock_paused_at is None

    # Decide, with a reason.
    page.reload()
    assert "jours ouvrés" in page.inner_text(".console-clock")
    page.get_by_role("link", name="M'assigner").click()
    page.click("input[type=submit]")
    page.get_by_role("link", name="Rejeter", exact=True).click()
    page.fill("textarea[name=reason]", "La pièce d'identité est expirée.")
    page.click("input[type=submit]")
    decided = stored(application.pk)
    assert decided.status == "rejected"
    timeline = page.inner_text("#timeline")
    for step in ("Demande déposée", "délai suspendu", "délai relancé", "expirée"):
        assert step in timeline, step
    look(page, shots, "05-application-decided")

    # The auditor finds every step under the reference.
    page.context.clear_cookies()
    sign_in(page, console_login, day["auditor"])
    page.goto(live_url(HOST_A, "/admin/audit/auditevent/"))
    page.fill("input[name=reference]", reference)
    page.press("input[name=reference]", "Enter")
    page.wait_for_load_state()
    trail = page.inner_text("#result_list")
    for step in (
        "Demande déposée",
        "Prise en charge par un agent",
        "Informations demandées (délai suspendu)",
        "Réponse du citoyen (délai relancé)",
        "Rejetée",
        "Kossi Mensah (agent)",
    ):
        assert step in trail, step
    look(page, shots, "06-audit-trail-by-reference")


def test_the_supervisors_pages(page, live_url, console_login, day, shots):
    sign_in(page, console_login, day["supervisor"])

    page.goto(live_url(HOST_A, "/admin/"))
    assert page.locator("#dashboard svg[role=img]").count() == 1
    look(page, shots, "07-supervisor-dashboard")

    page.goto(live_url(HOST_A, "/admin/applications/application/?state=all"))
    assert page.locator("#result_list tbody tr").count() == 3
    look(page, shots, "08-supervisor-queue")
    # The keyboard alone reaches the search box (then the files and the filters).
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement.id || 'other'"))
    assert "searchbar" in reached

    page.check("#result_list tbody tr:last-child input.action-select")
    page.select_option("select[name=action]", "assign_selected")
    page.click("button[name=index]")
    look(page, shots, "09-bulk-assign")
