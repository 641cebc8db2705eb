"""The browser harness itself: Chromium reaches the test server and sees this test's rows."""

from __future__ import annotations

from typing import Any

from tests.conftest import HOST_A


def test_the_browser_sees_a_french_console_login_page(page: Any, live_url: Any) -> None:
    response = page.goto(live_url(HOST_A, "/admin/login/"))
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("input[name=password]").count() == 1


def test_the_server_answers_on_this_tests_connection(
    page: Any, live_url: Any, console_login: Any, staff_of: Any, agency_a: Any
) -> None:
    """A civil servant created by the test (not committed) opens the console in the browser."""
    agent = staff_of(agency_a)
    console_login(page, agent, HOST_A)
    response = page.goto(live_url(HOST_A, "/admin/"))
    assert response is not None
    assert response.status == 200
    assert "/admin/login/" not in page.url
