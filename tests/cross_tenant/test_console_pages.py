"""The console pages added for civil servants' day stay within their agency.

A member of agency A signed in on A is a stranger on B's host: every new page (home page,
queue search, statistics, audit exports, bulk assignment) sends them to B's sign-in page and
shows nothing of A. What B's own staff see of A is tested beside each page
(tests/applications/test_console.py, tests/applications/test_console_audit.py).
"""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.conftest import HOST_B
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

PAGES = (
    "/admin/",
    "/admin/applications/application/?q=mensah",
    "/admin/applications/application/statistics.csv",
    "/admin/audit/auditevent/?reference=AA-2026-000001",
    "/admin/audit/auditevent/export.csv",
    "/admin/audit/auditevent/export.jsonl",
)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.AUDITOR])
def test_agency_a_staff_get_nothing_on_agency_b_host(client, agency_a, staff_of, path, role):
    otp_login(client, staff_of(agency_a, role))
    client.defaults["HTTP_HOST"] = HOST_B

    response = client.get(path)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_agency_a_supervisors_cannot_assign_on_agency_b(client, agency_a, staff_of):
    otp_login(client, staff_of(agency_a, Role.SUPERVISOR))
    client.defaults["HTTP_HOST"] = HOST_B

    response = client.post(
        "/admin/applications/application/",
        {"action": "assign_selected", "_selected_action": ["00000000-0000-0000-0000-000000000000"]},
    )

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
