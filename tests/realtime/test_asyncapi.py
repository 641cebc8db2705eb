"""The committed AsyncAPI document matches the code, and the frames the gateway really sends
(and accepts) conform to it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from apps.realtime.asyncapi import asyncapi_document, asyncapi_yaml
from apps.realtime.protocol import FRAMES, client_frame_types
from tests.applications.conftest import advance, draft, service_create
from tests.conftest import PUBLIC_HOST
from tests.realtime.conftest import connect, deliver_realtime, in_db, run

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_asyncapi_document_is_the_generated_one():
    committed = (ROOT / "asyncapi.yml").read_text(encoding="utf-8")

    assert committed == asyncapi_yaml(), "asyncapi.yml is stale: run `make schema`"
    assert yaml.safe_load(committed)["asyncapi"] == "3.0.0"


def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    document = asyncapi_document()
    event_data = document["components"]["schemas"]["EventData"]
    validators = {}
    for message in document["channels"]["gateway"]["messages"].values():
        schema = copy.deepcopy(message["payload"])
        if "data" in schema["properties"]:
            schema["properties"]["data"] = event_data
        validators[message["name"]] = jsonschema.Draft202012Validator(schema)
    return validators


def test_every_documented_client_frame_is_one_the_consumer_handles():
    assert client_frame_types() == {"auth", "subscribe", "unsubscribe", "ping"}
    assert {frame.type for frame in FRAMES if frame.direction == "server"} == {
        "ready",
        "subscribed",
        "caught_up",
        "resync_required",
        "event",
        "unsubscribed",
        "pong",
        "error",
    }


@pytest.mark.django_db
def test_the_frames_the_gateway_sends_conform_to_the_document(agency_a, citizen, tokens):
    service_create("agence_a")
    token = tokens(citizen).access
    validators = _validators()

    def submitted() -> Any:
        application = advance("agence_a", draft("agence_a", citizen), "submit", citizen, "citizen")
        deliver_realtime("agence_a")
        return application

    async def body() -> list[dict[str, Any]]:
        frames = []
        ws = await connect(PUBLIC_HOST, token=token)
        frames.append(await ws.receive_json_from())  # ready
        await ws.send_json_to({"type": "subscribe", "stream": "applications", "since": 0})
        subscribed = await ws.receive_json_from()
        frames.append(subscribed)
        frames.append(await ws.receive_json_from())  # caught_up
        await in_db(submitted)
        frames.append(await ws.receive_json_from())  # event
        await ws.send_json_to({"type": "ping"})
        frames.append(await ws.receive_json_from())
        await ws.send_json_to({"type": "unsubscribe", "subscription": subscribed["subscription"]})
        frames.append(await ws.receive_json_from())
        await ws.send_json_to({"type": "nonsense"})
        frames.append(await ws.receive_json_from())
        await ws.disconnect()
        return frames

    frames = run(body)

    assert [f["type"] for f in frames] == [
        "ready",
        "subscribed",
        "caught_up",
        "event",
        "pong",
        "unsubscribed",
        "error",
    ]
    for frame in frames:
        errors = list(validators[frame["type"]].iter_errors(frame))
        assert not errors, (frame, [e.message for e in errors])
