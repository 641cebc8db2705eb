"""The WebSocket gateway on the real consumer: streams, isolation, resume, tokens, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.denylist import access_token_deny
from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.realtime.models import RealtimeEvent
from apps.realtime.protocol import CloseCode
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.realtime.conftest import closed_with, connect, deliver_realtime, frames_until, in_db, run

pytestmark = pytest.mark.django_db

FORBIDDEN_KEYS = {"form_data", "answers", "attachments", "documents", "reason", "email", "phone"}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.fixture
def world(agency_a, agency_b, citizen, other_citizen, staff_of, tokens):
    """Services in A and B, an agent in each, and everyone's access token."""
    service_create(agency_a.schema_name)
    service_create(agency_b.schema_name)
    agent_a = staff_of(agency_a, Role.AGENT)
    agent_b = staff_of(agency_b, Role.AGENT)
    return {
        "citizen": citizen,
        "other": other_citizen,
        "agent_a": agent_a,
        "agent_b": agent_b,
        "citizen_token": tokens(citizen).access,
        "other_token": tokens(other_citizen).access,
        "agent_a_token": tokens(agent_a, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access,
        "agent_b_token": tokens(agent_b, TokenKind.STAFF, agency=agency_b, role=Role.AGENT).access,
    }


def submitted(schema: str, owner) -> Any:
    application = advance(schema, draft(schema, owner), "submit", owner, "citizen")
    deliver_realtime(schema)
    return application


def taken(schema: str, application, agent) -> Any:
    application = advance(schema, application, "take", agent, Role.AGENT)
    deliver_realtime(schema)
    return application


async def subscribe(communicator, **frame) -> list[dict[str, Any]]:
    await communicator.send_json_to({"type": "subscribe", **frame})
    expected = "caught_up" if "since" in frame else "subscribed"
    return await frames_until(communicator, expected)


# --- Citizens --------------------------------------------------------------------------------


def test_citizen_follows_their_applications_across_agencies_on_the_public_host(world):
    async def body():
        ws = await connect(
            PUBLIC_HOST, subprotocols=["guichet.v1", f"guichet.token.{world['citizen_token']}"]
        )
        ready = await ws.receive_json_from()
        assert ready["type"] == "ready"
        assert ready["kind"] == "citizen"
        await subscribe(ws, stream="applications")
        in_a = await in_db(submitted, "agence_a", world["citizen"])
        first = await ws.receive_json_from()
        await in_db(submitted, "agence_b", world["other"])  # someone else's: never sent
        in_b = await in_db(submitted, "agence_b", world["citizen"])
        second = await ws.receive_json_from()
        assert await ws.receive_nothing(0.3)
        await ws.disconnect()
        return in_a, in_b, first, second

    in_a, in_b, first, second = run(body)
    assert first["type"] == "event"
    assert first["event"] == "application.status_changed"
    assert first["data"]["application"] == {
        "id": str(in_a.id),
        "reference": in_a.reference,
        "status": "submitted",
        "status_label": "Déposée",
    }
    assert first["data"]["agency"]["slug"] == "agence-a"
    assert first["data"]["service"]["name"] == "Copie d'acte de naissance"
    assert second["data"]["application"]["id"] == str(in_b.id)
    assert second["id"] > first["id"]
    assert not (_keys(first) | _keys(second)) & FORBIDDEN_KEYS


def test_labels_follow_the_connection_language(world):
    async def body():
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"], language="en-GB,en;q=0.9")
        ready = await ws.receive_json_from()
        await subscribe(ws, stream="applications")
        await in_db(submitted, "agence_a", world["citizen"])
        event = await ws.receive_json_from()
        await ws.disconnect()
        return ready, event

    ready, event = run(body)
    assert ready["language"] == "en"
    assert event["data"]["application"]["status_label"] == "Submitted"
    assert event["data"]["service"]["name"] == "Birth certificate copy"


def test_a_citizen_follows_one_application_and_never_someone_elses(world):
    async def body():
        mine = await in_db(submitted, "agence_a", world["citizen"])
        theirs = await in_db(submitted, "agence_a", world["other"])
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        await ws.send_json_to(
            {"type": "subscribe", "stream": "application", "application_id": str(theirs.id)}
        )
        refused = await ws.receive_json_from()
        await ws.send_json_to(
            {"type": "subscribe", "stream": "application", "application_id": str(uuid.uuid4())}
        )
        unknown = await ws.receive_json_from()
        await subscribe(ws, stream="application", application_id=str(mine.id))
        await in_db(taken, "agence_a", theirs, world["agent_a"])
        await in_db(taken, "agence_a", mine, world["agent_a"])
        event = await ws.receive_json_from()
        assert await ws.receive_nothing(0.3)
        await ws.disconnect()
        return mine, refused, unknown, event

    mine, refused, unknown, event = run(body)
    # Someone else's application and one that does not exist look the same.
    assert refused["type"] == unknown["type"] == "error"
    assert refused["code"] == unknown["code"] == "not_found"
    assert refused["detail"] == unknown["detail"]
    assert event["data"]["application"]["id"] == str(mine.id)
    assert event["data"]["application"]["status"] == "in_review"
    assert "assignee_id" not in event["data"]["application"]  # staff only


# --- Staff -----------------------------------------------------------------------------------


def test_staff_see_their_agency_queue_change_live(world):
    async def body():
        ws = await connect(HOST_A, token=world["agent_a_token"])
        ready = await ws.receive_json_from()
        await subscribe(ws, stream="queue")
        application = await in_db(submitted, "agence_a", world["citizen"])
        new = await ws.receive_json_from()
        await in_db(submitted, "agence_b", world["citizen"])  # agency B's queue: not sent
        await in_db(taken, "agence_a", application, world["agent_a"])
        took = await ws.receive_json_from()
        assert await ws.receive_nothing(0.3)
        await ws.disconnect()
        return ready, application, new, took

    ready, application, new, took = run(body)
    assert ready["kind"] == "staff"
    assert ready["agency"] == "agence_a"
    assert new["event"] == "queue.changed"
    assert new["data"]["change"] == "submitted"
    assert new["data"]["change_label"] == "Nouvelle demande"
    assert took["data"]["change"] == "taken"
    assert took["data"]["application"]["assignee_id"] == str(world["agent_a"].pk)
    assert took["data"]["application"]["reference"] == application.reference


def test_a_staff_token_of_agency_a_is_refused_on_agency_b(world):
    async def body():
        ws = await connect(HOST_B, token=world["agent_a_token"])
        return await closed_with(ws)

    assert run(body) == CloseCode.FORBIDDEN


def test_streams_are_per_kind_of_token(world):
    async def body():
        staff = await connect(HOST_A, token=world["agent_a_token"])
        await staff.receive_json_from()
        await staff.send_json_to({"type": "subscribe", "stream": "applications"})
        staff_error = await staff.receive_json_from()
        citizen = await connect(HOST_A, token=world["citizen_token"])
        await citizen.receive_json_from()
        await citizen.send_json_to({"type": "subscribe", "stream": "queue"})
        citizen_error = await citizen.receive_json_from()
        await staff.disconnect()
        await citizen.disconnect()
        return staff_error, citizen_error

    staff_error, citizen_error = run(body)
    assert staff_error["code"] == citizen_error["code"] == "stream_forbidden"


def test_on_an_agency_host_a_citizen_sees_only_that_agencys_applications(world):
    async def body():
        ws = await connect(HOST_B, token=world["citizen_token"])
        await ws.receive_json_from()
        await subscribe(ws, stream="applications")
        await in_db(submitted, "agence_a", world["citizen"])
        in_b = await in_db(submitted, "agence_b", world["citizen"])
        event = await ws.receive_json_from()
        await ws.disconnect()
        return in_b, event

    in_b, event = run(body)
    assert event["data"]["application"]["id"] == str(in_b.id)


def test_partner_tokens_have_no_stream(world, agency_a):
    from apps.accounts.services import partner_client_create
    from apps.accounts.tokens import issue_partner_token

    client, _secret = partner_client_create(name="Banque", grants={agency_a: ["applications:read"]})
    token = issue_partner_token(
        client_uuid=str(client.id),
        client_id=client.client_id,
        agency="agence_a",
        scopes=["applications:read"],
    ).access

    async def body():
        ws = await connect(HOST_A, token=token)
        return await closed_with(ws)

    assert run(body) == CloseCode.FORBIDDEN


# --- Nothing missed --------------------------------------------------------------------------


def test_a_client_resumes_from_the_last_id_it_saw_then_gets_live_events(world):
    async def body():
        first = await in_db(submitted, "agence_a", world["citizen"])
        seen = await in_db(lambda: RealtimeEvent.objects.get(application_id=first.id).id)
        second = await in_db(submitted, "agence_a", world["citizen"])
        third = await in_db(submitted, "agence_b", world["citizen"])
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        frames = await subscribe(ws, stream="applications", since=seen)
        fourth = await in_db(submitted, "agence_a", world["citizen"])
        live = await ws.receive_json_from()
        await ws.disconnect()
        return seen, [second.id, third.id], frames, fourth, live

    seen, missed, frames, fourth, live = run(body)
    assert [f["type"] for f in frames] == ["subscribed", "event", "event", "caught_up"]
    assert frames[0]["last_id"] == seen
    assert [f["data"]["application"]["id"] for f in frames[1:3]] == [str(i) for i in missed]
    assert frames[1]["id"] < frames[2]["id"] == frames[3]["last_id"]
    assert live["data"]["application"]["id"] == str(fourth.id)
    assert live["id"] > frames[2]["id"]


def test_a_resume_older_than_the_retention_window_asks_for_a_resync(world, settings):
    settings.REALTIME_RESUME_MAX_EVENTS = 1

    async def body():
        await in_db(submitted, "agence_a", world["citizen"])
        await in_db(submitted, "agence_a", world["citizen"])
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        frames = await subscribe(ws, stream="applications", since=0)
        await ws.disconnect()
        return frames

    frames = run(body)
    assert [f["type"] for f in frames] == ["subscribed", "resync_required", "caught_up"]


def test_events_come_from_committed_transitions_through_the_outbox(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = advance(
            "agence_a", draft("agence_a", world["citizen"]), "submit", world["citizen"], "citizen"
        )
    with schema_context("agence_a"):
        from apps.outbox.models import OutboxMessage

        message = OutboxMessage.objects.get(kind="realtime")
        assert message.status == "sent"
    event = RealtimeEvent.objects.get(application_id=application.id)
    assert event.outbox_message_id == message.pk
    assert (event.agency_schema, event.change, event.status) == (
        "agence_a",
        "submitted",
        "submitted",
    )
    # A second delivery of the same message (at least once) adds nothing.
    from apps.realtime.services import realtime_event_publish

    with schema_context("agence_a"):
        realtime_event_publish(message)
    assert RealtimeEvent.objects.filter(application_id=application.id).count() == 1


def test_a_rolled_back_transition_leaves_no_event(world):
    from django.db import transaction

    application = draft("agence_a", world["citizen"])

    def submit_then_fail() -> None:
        with transaction.atomic():
            advance("agence_a", application, "submit", world["citizen"], "citizen")
            raise RuntimeError("the caller fails after the transition")

    with pytest.raises(RuntimeError):
        submit_then_fail()
    assert deliver_realtime("agence_a") == 0
    assert not RealtimeEvent.objects.filter(application_id=application.id).exists()


def test_the_purge_keeps_24_hours(world):
    from django.utils import timezone

    from apps.realtime.tasks import realtime_purge

    application = submitted("agence_a", world["citizen"])
    RealtimeEvent.objects.filter(application_id=application.id).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    fresh = submitted("agence_a", world["citizen"])

    assert realtime_purge() >= 1  # rows other tests committed long ago may go too
    mine = RealtimeEvent.objects.filter(application_id__in=[application.id, fresh.id])
    assert list(mine.values_list("application_id", flat=True)) == [fresh.id]


# --- Tokens ----------------------------------------------------------------------------------


def _short_token(user, seconds: float) -> str:
    token = AccessToken()
    token.set_exp(lifetime=timedelta(seconds=seconds))
    token[settings.SIMPLE_JWT["USER_ID_CLAIM"]] = str(user.pk)
    token["kind"] = "citizen"
    return str(token)


def test_an_expired_token_closes_the_connection_with_4440(world):
    token = _short_token(world["citizen"], 1.5)

    async def body():
        ws = await connect(PUBLIC_HOST, token=token)
        assert (await ws.receive_json_from())["type"] == "ready"
        return await closed_with(ws, timeout=5)

    assert run(body) == CloseCode.TOKEN_EXPIRED


def test_a_refreshed_token_extends_the_connection(world, tokens):
    short = _short_token(world["citizen"], 1.5)
    fresh = tokens(world["citizen"]).access
    stranger = tokens(world["other"]).access

    async def body():
        ws = await connect(PUBLIC_HOST, token=short)
        await ws.receive_json_from()
        await ws.send_json_to({"type": "auth", "token": stranger})
        mismatch = await ws.receive_json_from()
        await ws.send_json_to({"type": "auth", "token": fresh})
        ready = await ws.receive_json_from()
        await asyncio.sleep(2)
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from()
        await ws.disconnect()
        return mismatch, ready, pong

    mismatch, ready, pong = run(body)
    assert mismatch["code"] == "token_mismatch"
    assert ready["type"] == "ready"
    assert pong["type"] == "pong"


def test_a_revoked_token_is_refused_and_an_open_connection_closed_with_4441(world, settings):
    settings.REALTIME_REVALIDATE_SECONDS = 0.2
    token = world["citizen_token"]
    claims = AccessToken(token)

    async def body():
        ws = await connect(PUBLIC_HOST, token=token)
        assert (await ws.receive_json_from())["type"] == "ready"
        await subscribe(ws, stream="applications")  # starts the hub and its sweep
        await in_db(access_token_deny, jti=claims["jti"], exp=claims["exp"])
        open_code = await closed_with(ws, timeout=5)
        again = await connect(PUBLIC_HOST, token=token)
        return open_code, await closed_with(again)

    assert run(body) == (CloseCode.TOKEN_REVOKED, CloseCode.TOKEN_REVOKED)


def test_without_a_token_the_connection_is_closed(world, settings):
    settings.REALTIME_AUTH_TIMEOUT_SECONDS = 0.2

    async def body():
        silent = await connect(PUBLIC_HOST)
        silent_code = await closed_with(silent)
        garbage = await connect(PUBLIC_HOST, token="not.a.jwt")
        return silent_code, await closed_with(garbage)

    assert run(body) == (CloseCode.AUTH_TIMEOUT, CloseCode.UNAUTHENTICATED)


def test_an_unknown_host_is_refused_at_the_handshake(world):
    from channels.testing.websocket import WebsocketCommunicator

    from tests.realtime.conftest import APP

    async def body():
        ws = WebsocketCommunicator(APP, "/ws/v1/", headers=[(b"host", b"inconnue.localhost")])
        connected, _ = await ws.connect()
        return connected

    assert run(body) is False


# --- Bad input -------------------------------------------------------------------------------


def test_bad_frames_get_error_frames_then_a_close(world, settings):
    settings.REALTIME_MAX_ERRORS = 4

    async def body():
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        await ws.send_to(text_data="{not json")
        malformed = await ws.receive_json_from()
        await ws.send_to(bytes_data=b"\x00\x01")
        binary = await ws.receive_json_from()
        await ws.send_json_to({"type": "subscribe", "stream": "everything"})
        unknown = await ws.receive_json_from()
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from()  # still open and answering
        await ws.send_json_to({"type": "subscribe", "stream": "applications", "since": -1})
        await ws.receive_json_from()
        return malformed, binary, unknown, pong, await closed_with(ws)

    malformed, binary, unknown, pong, code = run(body)
    assert malformed["code"] == binary["code"] == "malformed_frame"
    assert malformed["detail"]  # in French by default
    assert unknown["code"] == "unknown_stream"
    assert pong["type"] == "pong"
    assert code == CloseCode.TOO_MANY_ERRORS


def test_an_oversized_frame_closes_with_1009(world):
    async def body():
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        await ws.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 10_000}))
        return await closed_with(ws)

    assert run(body) == CloseCode.MESSAGE_TOO_BIG


def test_a_first_frame_that_is_not_auth_closes_with_4400(world):
    async def body():
        ws = await connect(PUBLIC_HOST)
        await ws.send_json_to({"type": "subscribe", "stream": "applications"})
        return await closed_with(ws)

    assert run(body) == CloseCode.BAD_REQUEST


def test_subscription_floods_are_refused(world, settings):
    settings.REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION = 2
    settings.REALTIME_MAX_SUBSCRIPTIONS_PER_MINUTE = 3

    async def body():
        ws = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await ws.receive_json_from()
        codes = []
        for _ in range(3):
            await ws.send_json_to({"type": "subscribe", "stream": "applications"})
            codes.append((await ws.receive_json_from()).get("code", "subscribed"))
        # A second connection of the same person shares the per-minute count (hot-key store).
        other = await connect(PUBLIC_HOST, token=world["citizen_token"])
        await other.receive_json_from()
        await other.send_json_to({"type": "subscribe", "stream": "applications"})
        codes.append((await other.receive_json_from()).get("code", "subscribed"))
        await other.send_json_to({"type": "subscribe", "stream": "applications"})
        codes.append((await other.receive_json_from()).get("code", "subscribed"))
        await ws.disconnect()
        await other.disconnect()
        return codes

    assert run(body) == [
        "subscribed",
        "subscribed",
        "too_many_subscriptions",
        "subscribed",
        "rate_limited",
    ]


def test_too_many_connections_per_person_or_source_close_with_4429(world, settings):
    settings.REALTIME_MAX_CONNECTIONS_PER_USER = 2
    settings.REALTIME_MAX_CONNECTIONS_PER_SOURCE = 3

    async def body():
        open_ = [await connect(PUBLIC_HOST, token=world["citizen_token"]) for _ in range(2)]
        for ws in open_:
            assert (await ws.receive_json_from())["type"] == "ready"
        third = await connect(PUBLIC_HOST, token=world["citizen_token"])
        per_user = await closed_with(third)
        other = await connect(PUBLIC_HOST, token=world["other_token"])
        assert (await other.receive_json_from())["type"] == "ready"
        fourth = await connect(PUBLIC_HOST, token=world["other_token"])
        per_source = await closed_with(fourth)
        elsewhere = await connect(
            PUBLIC_HOST, token=world["other_token"], client=("198.51.100.9", 1)
        )
        elsewhere_ready = (await elsewhere.receive_json_from())["type"]
        # A closed connection gives its place back.
        await open_[0].disconnect()
        again = await connect(PUBLIC_HOST, token=world["citizen_token"], client=("192.0.2.1", 1))
        again_ready = (await again.receive_json_from())["type"]
        for ws in (open_[1], other, elsewhere, again):
            await ws.disconnect()
        return per_user, per_source, elsewhere_ready, again_ready

    assert run(body) == (
        CloseCode.TOO_MANY_CONNECTIONS,
        CloseCode.TOO_MANY_CONNECTIONS,
        "ready",
        "ready",
    )
