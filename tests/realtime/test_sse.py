"""The SSE fallback ``/api/v1/events/`` under WSGI (the ASGI path runs in test_uvicorn.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.realtime.models import RealtimeEvent
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.helpers import assert_problem
from tests.realtime.conftest import deliver_realtime

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def _submitted(schema: str, owner):
    application = advance(schema, draft(schema, owner), "submit", owner, "citizen")
    deliver_realtime(schema)
    return application


def _frames(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    frames = []
    for block in text.split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _sep, value = line.partition(": ")
            fields[key] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
        if fields:
            frames.append(fields)
    return frames


@pytest.fixture
def setup(agency_a, agency_b, citizen, other_citizen, staff_of, tokens):
    service_create("agence_a")
    service_create("agence_b")
    agent = staff_of(agency_a, Role.AGENT)
    return {
        "citizen_token": tokens(citizen).access,
        "agent_token": tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access,
    }


def test_a_citizen_resumes_with_last_event_id(api, setup, citizen, other_citizen):
    first = _submitted("agence_a", citizen)
    seen = RealtimeEvent.objects.get(application_id=first.id).id
    second = _submitted("agence_b", citizen)
    _submitted("agence_a", other_citizen)

    response = api(PUBLIC_HOST, setup["citizen_token"]).get(
        URL, {"stream": "applications"}, HTTP_LAST_EVENT_ID=str(seen)
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    frames = _frames(response)
    events = [f for f in frames if f.get("event") == "application.status_changed"]
    assert [e["data"]["application"]["id"] for e in events] == [str(second.id)]
    assert int(events[0]["id"]) > seen
    assert frames[-1]["event"] == "close"  # the WSGI stream ends; the client resumes


def test_staff_follow_their_queue_and_never_another_agencys(api, setup, citizen):
    mine = _submitted("agence_a", citizen)
    _submitted("agence_b", citizen)

    response = api(HOST_A, setup["agent_token"]).get(
        URL, {"stream": "queue"}, HTTP_LAST_EVENT_ID="0"
    )
    events = [f for f in _frames(response) if f.get("event") == "queue.changed"]

    assert [e["data"]["application"]["id"] for e in events] == [str(mine.id)]
    assert events[0]["data"]["change"] == "submitted"
    wrong_host = api(HOST_B, setup["agent_token"]).get(URL, {"stream": "queue"})
    assert_problem(wrong_host, 401, "token_wrong_agency")


def test_refusals_are_problem_documents(api, setup, other_citizen):
    mine = _submitted("agence_a", other_citizen)
    citizen_api = api(PUBLIC_HOST, setup["citizen_token"])

    assert_problem(api(PUBLIC_HOST).get(URL, {"stream": "applications"}), 401, "not_authenticated")
    assert_problem(citizen_api.get(URL, {"stream": "queue"}), 403, "permission_denied")
    assert_problem(citizen_api.get(URL, {"stream": "nope"}), 400, "validation_failed")
    assert_problem(
        citizen_api.get(URL, {"stream": "applications"}, HTTP_LAST_EVENT_ID="abc"),
        400,
        "validation_failed",
    )
    # Someone else's application and an unknown one: the same 404.
    theirs = citizen_api.get(URL, {"stream": "application", "application_id": str(mine.id)})
    unknown = citizen_api.get(URL, {"stream": "application", "application_id": str(uuid.uuid4())})
    assert (
        assert_problem(theirs, 404, "not_found")["detail"]
        == (assert_problem(unknown, 404, "not_found")["detail"])
    )
