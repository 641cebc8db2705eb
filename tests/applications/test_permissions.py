"""Permission matrix: every endpoint group and every transition, for every kind of caller.

Callers: anonymous, the citizen who owns the application, another citizen, the agency's agent,
supervisor, agency admin and auditor, a supervisor of the other agency (on their own host:
agency A's ids do not exist there), and a partner token of agency A. Expected statuses are
written out here, not derived from the workflow table, so a change of the table shows up.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.applications.models import Application, Attachment
from apps.audit.models import AuditEvent
from tests.applications.conftest import DOC, SERVICE_CODE, VALID_FORM, upload
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST

pytestmark = pytest.mark.django_db

CALLERS = (
    "anonymous",
    "citizen",
    "other_citizen",
    "agent",
    "supervisor",
    "agency_admin",
    "auditor",
    "other_agency_staff",
    "partner",
)
OK = 200


def row(*statuses: int) -> dict[str, int]:
    return dict(zip(CALLERS, statuses, strict=True))


def client_for(api, people, name: str):
    caller = people[name]
    return api(HOST_B if name == "other_agency_staff" else HOST_A, caller.token)


def etag_of(application) -> str:
    with schema_context("agence_a"):
        return Application.objects.get(pk=application.pk).etag


#                            anon cit  other agent sup admin audit B   partner
CITIZEN_COLLECTION = row(401, OK, OK, 403, 403, 403, 403, 403, 403)
CITIZEN_OWN = row(401, OK, 404, 403, 403, 403, 403, 403, 403)
STAFF_READ = row(401, 403, 403, OK, OK, OK, OK, 404, 403)
STAFF_QUEUE = row(401, 403, 403, OK, OK, OK, OK, OK, 403)
NOTES = row(401, 403, 403, 201, 201, 201, 403, 404, 403)


@pytest.mark.parametrize("name", CALLERS)
def test_citizen_list_and_create(api, people, service_a, name):
    client = client_for(api, people, name)
    expected = CITIZEN_COLLECTION[name]

    listing = client.get("/api/v1/applications/")
    created = client.post("/api/v1/applications/", {"service": SERVICE_CODE}, format="json")

    assert listing.status_code == expected
    assert created.status_code == (201 if expected == OK else expected)


@pytest.mark.parametrize("name", CALLERS)
def test_citizen_read_change_and_documents_of_an_application(
    api, people, in_state, service_a, name
):
    application = in_state("draft")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    client = client_for(api, people, name)
    base = f"/api/v1/applications/{application.id}/"
    expected = CITIZEN_OWN[name]

    responses = {
        "retrieve": client.get(base),
        "patch": client.patch(base, {"form_data": VALID_FORM}, format="json"),
        "download": client.get(f"{base}attachments/{attachment.id}/"),
        "upload": client.post(
            f"{base}attachments/", {"document_type": DOC, "file": upload()}, format="multipart"
        ),
    }

    for what, response in responses.items():
        wanted = 201 if (what == "upload" and expected == OK) else expected
        assert response.status_code == wanted, (what, response.content)


CITIZEN_TRANSITIONS = {
    "submit": "draft",
    "withdraw": "submitted",
    "answer-info": "info_requested",
}


@pytest.mark.parametrize("name", CALLERS)
@pytest.mark.parametrize("action", list(CITIZEN_TRANSITIONS))
def test_citizen_transitions(api, people, in_state, service_a, name, action):
    application = in_state(CITIZEN_TRANSITIONS[action])
    client = client_for(api, people, name)

    response = client.post(
        f"/api/v1/applications/{application.id}/{action}/",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"{action}-{name}",
    )

    assert response.status_code == CITIZEN_OWN[name], response.content
    with schema_context("agence_a"):
        changed = Application.objects.get(pk=application.pk).status != CITIZEN_TRANSITIONS[action]
    assert changed is (response.status_code == OK)


@pytest.mark.parametrize("name", CALLERS)
def test_staff_queue_and_detail(api, people, in_state, service_a, name):
    application = in_state("submitted")
    with schema_context("agence_a"):
        attachment = Attachment.objects.get(application=application)
    client = client_for(api, people, name)
    base = f"/api/v1/staff/applications/{application.id}/"

    queue = client.get("/api/v1/staff/applications/")
    detail = client.get(base)
    download = client.get(f"{base}attachments/{attachment.id}/")
    note = client.post(f"{base}notes/", {"body": "Note"}, format="json")

    assert queue.status_code == STAFF_QUEUE[name]
    if name == "other_agency_staff":
        assert queue.json()["count"] == 0  # agency B's own (empty) queue
    assert detail.status_code == STAFF_READ[name]
    assert download.status_code == STAFF_READ[name]
    assert note.status_code == NOTES[name], note.content


# action: (state, body, agent must hold it, expected per caller)
STAFF_TRANSITIONS = {
    "take": ("submitted", {}, False, row(401, 403, 403, OK, OK, OK, 403, 404, 403)),
    "assign": ("submitted", "assignee", False, row(401, 403, 403, 403, OK, OK, 403, 404, 403)),
    "reassign": ("in_review", "assignee", False, row(401, 403, 403, 403, OK, OK, 403, 404, 403)),
    "request-info": (
        "in_review",
        {"message": "Pièce illisible"},
        True,
        row(401, 403, 403, OK, OK, OK, 403, 404, 403),
    ),
    "approve": ("in_review", {}, True, row(401, 403, 403, OK, OK, OK, 403, 404, 403)),
    "reject": (
        "in_review",
        {"reason": "Incomplet"},
        True,
        row(401, 403, 403, OK, OK, OK, 403, 404, 403),
    ),
    "close": ("approved", {}, False, row(401, 403, 403, 403, OK, OK, 403, 404, 403)),
}


@pytest.mark.parametrize("name", CALLERS)
@pytest.mark.parametrize("action", list(STAFF_TRANSITIONS))
def test_staff_transitions(api, people, in_state, staff_of, agency_a, service_a, name, action):
    state, body, held_by_agent, expected = STAFF_TRANSITIONS[action]
    application = in_state(state, agent=people["agent"].user if held_by_agent else None)
    if body == "assignee":
        body = {"assignee": str(staff_of(agency_a, "agent").id)}
    client = client_for(api, people, name)

    response = client.post(
        f"/api/v1/staff/applications/{application.id}/{action}/",
        body,
        format="json",
        HTTP_IF_MATCH=etag_of(application),
    )

    assert response.status_code == expected[name], response.content
    with schema_context("agence_a"):
        after = Application.objects.get(pk=application.pk)
    assert (after.version != application.version) is (response.status_code == OK)


def test_staff_of_agency_b_probing_agency_a_is_recorded(api, people, in_state, service_a):
    application = in_state("submitted")
    client = client_for(api, people, "other_agency_staff")

    client.get(f"/api/v1/staff/applications/{application.id}/")

    probe = AuditEvent.objects.get(action="access.cross_agency_denied")
    assert probe.actor_id == str(people["other_agency_staff"].user.id)
    assert probe.changes["held_by"]["new"] == "agence_a"


def test_staff_token_of_agency_b_is_refused_on_agency_a(api, people, in_state, service_a):
    application = in_state("submitted")
    token = people["other_agency_staff"].token

    response = api(HOST_A, token).get(f"/api/v1/staff/applications/{application.id}/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_wrong_agency"


ME_LIST = row(401, OK, OK, 401, 401, 401, 401, 401, 401)


@pytest.mark.parametrize("name", CALLERS)
def test_cross_agency_list_on_the_public_host(api, people, service_a, name):
    # Staff and partner tokens are bound to an agency: refused outright on the public host.
    response = api(PUBLIC_HOST, people[name].token).get("/api/v1/me/applications/")

    assert response.status_code == ME_LIST[name]


def test_platform_admin_token_is_not_a_citizen_token(api, platform_admin, tokens):
    from apps.accounts.tokens import TokenKind

    response = api(PUBLIC_HOST, tokens(platform_admin, TokenKind.PLATFORM).access).get(
        "/api/v1/me/applications/"
    )

    assert response.status_code == 403
