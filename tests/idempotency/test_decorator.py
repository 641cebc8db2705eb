"""@idempotent on a test-only endpoint: replay, reuse, in-flight, errors, isolation, store down."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.hotkeys.registry import get_store
from apps.idempotency.models import IdempotencyRecord
from apps.idempotency.services import _marker_key
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem, otp_login
from tests.idempotency import views
from tests.idempotency.views import ACTION

pytestmark = pytest.mark.django_db

THINGS = "/test/things/"


def post(api, key: str | None, body: dict, host: str = HOST_A, token: str | None = None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api(host, token).post(THINGS, body, format="json", **headers)


def created(schema: str, name: str) -> int:
    with schema_context(schema):
        return AuditEvent.objects.filter(action=ACTION, target_id=name).count()


def records(schema: str) -> list[IdempotencyRecord]:
    with schema_context(schema):
        return list(IdempotencyRecord.objects.all())


def test_first_request_runs_and_is_recorded(api, agency_a):
    response = post(api, "key-1", {"name": "one"})

    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    assert created("agence_a", "one") == 1
    [record] = records("agence_a")
    assert (record.scope, record.caller, record.key) == ("test_thing", "ip:127.0.0.1", "key-1")
    assert record.status_code == 201
    assert record.response_body == response.json()
    assert len(record.fingerprint) == 64
    assert records("public") == []
    assert records("agence_b") == []


def test_retry_with_same_key_and_body_replays_without_running_the_view(api, agency_a):
    first = post(api, "key-2", {"name": "two", "extra": {"a": 1, "b": [1, 2]}})
    # Same body with another key order and spacing: same canonical body.
    retry = api(HOST_A).generic(
        "POST",
        THINGS,
        '{ "extra": {"b": [1, 2], "a": 1}, "name": "two" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-2",
    )

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert views.calls["count"] == 1
    assert created("agence_a", "two") == 1


def test_same_key_with_another_body_is_422(api, agency_a):
    post(api, "key-3", {"name": "three"})

    response = post(api, "key-3", {"name": "three-bis"})

    assert_problem(response, 422, "idempotency_key_reused")
    assert created("agence_a", "three-bis") == 0
    assert views.calls["count"] == 1


def test_same_key_on_another_path_is_422(api, agency_a):
    post(api, "key-3b", {"name": "x"})

    response = api(HOST_A).post(
        THINGS + "?variant=1", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="key-3b"
    )

    assert_problem(response, 422, "idempotency_key_reused")


def test_retry_while_the_first_is_in_flight_is_409(api, agency_a):
    # Learn the fingerprint of POST /test/things/ {"name": "probe"} from a completed request.
    assert post(api, "probe", {"name": "probe"}).status_code == 201
    with schema_context("agence_a"):
        fingerprint = IdempotencyRecord.objects.get(key="probe").fingerprint
        marker = _marker_key("test_thing", "ip:127.0.0.1", "key-4")
    # Another request holds key-4's in-flight marker, as it would while its view runs.
    assert get_store().compare_and_set(marker, None, bytes.fromhex(fingerprint) + b"x" * 16, ttl=60)

    same_body = post(api, "key-4", {"name": "probe"})
    other_body = post(api, "key-4", {"name": "other"})

    assert_problem(same_body, 409, "idempotency_in_progress")
    assert_problem(other_body, 422, "idempotency_key_reused")  # the key is being misused
    assert views.calls["count"] == 1
    assert get_store().get(marker) is not None  # not released by the refused retries


def test_marker_key_is_per_schema(agency_a):
    with schema_context("agence_a"):
        key_a = _marker_key("s", "c", "k")
    with schema_context("agence_b"):
        key_b = _marker_key("s", "c", "k")
    assert key_a != key_b
    assert b"agence_a" in key_a


def test_in_flight_marker_is_released_after_the_request(api, agency_a):
    post(api, "key-5", {"name": "five"})

    with schema_context("agence_a"):
        marker = _marker_key("test_thing", "ip:127.0.0.1", "key-5")
    assert get_store().get(marker) is None


def test_missing_key_on_a_required_endpoint_is_400(api, agency_a):
    response = post(api, None, {"name": "none"})

    assert_problem(response, 400, "idempotency_key_required")
    assert views.calls["count"] == 0
    assert records("agence_a") == []


@pytest.mark.parametrize("key", ["", " ", "a b", "é", "x" * 256, "tab\there"])
def test_malformed_key_is_400(api, agency_a, key):
    response = post(api, key, {"name": "bad"})

    assert_problem(response, 400, "idempotency_key_invalid")
    assert views.calls["count"] == 0


@pytest.mark.parametrize("key", ["a", "x" * 255, "!~#$%&'*+-.^_`|", str(uuid.uuid4())])
def test_well_formed_keys_are_accepted(api, agency_a, key):
    assert post(api, key, {"name": "ok"}).status_code == 201


def test_optional_endpoint_without_key_runs_every_time(api, agency_a):
    first = api(HOST_A).post("/test/optional/", {}, format="json")
    second = api(HOST_A).post("/test/optional/", {}, format="json")

    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})
    assert records("agence_a") == []


def test_optional_endpoint_with_key_replays(api, agency_a):
    first = api(HOST_A).post("/test/optional/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = api(HOST_A).post("/test/optional/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert first.json() == second.json() == {"n": 1}
    assert second["Idempotent-Replayed"] == "true"


def test_raised_error_is_not_stored_and_rolls_back_the_view(api, agency_a):
    refused = post(api, "key-6", {"name": "six", "fail": "raise"})

    assert_problem(refused, 400, "validation_failed")
    assert records("agence_a") == []
    assert created("agence_a", "six") == 0  # the view's write was rolled back with it
    # The client fixes the request and retries with the same key: it runs.
    fixed = post(api, "key-6", {"name": "six"})
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert created("agence_a", "six") == 1


def test_returned_error_is_not_stored(api, agency_a):
    refused = post(api, "key-7", {"name": "seven", "fail": "return"})

    assert refused.status_code == 400
    assert records("agence_a") == []
    assert post(api, "key-7", {"name": "seven"}).status_code == 201
    assert views.calls["count"] == 2


def test_same_key_in_two_agencies_is_two_requests(api, agency_a, agency_b):
    in_a = post(api, "shared-key", {"name": "shared"}, host=HOST_A)
    in_b = post(api, "shared-key", {"name": "shared"}, host=HOST_B)

    assert in_a.status_code == in_b.status_code == 201
    assert "Idempotent-Replayed" not in in_b
    assert in_a.json()["id"] != in_b.json()["id"]
    assert created("agence_a", "shared") == 1
    assert created("agence_b", "shared") == 1
    assert len(records("agence_a")) == len(records("agence_b")) == 1


def test_same_key_from_two_callers_is_two_requests(api, agency_a, citizen, other_citizen, tokens):
    mine = post(api, "k", {"name": "c"}, token=tokens(citizen).access)
    theirs = post(api, "k", {"name": "c"}, token=tokens(other_citizen).access)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    callers = sorted(r.caller for r in records("agence_a"))
    assert callers == sorted([f"citizen:{citizen.id}", f"citizen:{other_citizen.id}"])


def test_expired_record_no_longer_answers(api, agency_a, settings):
    post(api, "key-8", {"name": "eight"})
    with schema_context("agence_a"):
        IdempotencyRecord.objects.update(
            created_at=IdempotencyRecord.objects.get().created_at.replace(year=2000)
        )

    again = post(api, "key-8", {"name": "eight"})

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert created("agence_a", "eight") == 2
    assert len(records("agence_a")) == 1


def test_store_down_still_runs_once_and_replays_from_postgresql(api, agency_a, unreachable_store):
    first = post(api, "key-9", {"name": "nine"})
    retry = post(api, "key-9", {"name": "nine"})
    other = post(api, "key-9", {"name": "other"})

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert_problem(other, 422, "idempotency_key_reused")
    assert created("agence_a", "nine") == 1


def test_uploaded_files_count_by_their_content(api, agency_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(content: bytes):
        return api(HOST_A).post(
            THINGS,
            {"name": "file", "doc": SimpleUploadedFile("a.pdf", content, "application/pdf")},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload(b"%PDF-1 one")
    same = upload(b"%PDF-1 one")
    other = upload(b"%PDF-1 two")

    assert first.status_code == 201
    assert same["Idempotent-Replayed"] == "true"
    assert_problem(other, 422, "idempotency_key_reused")


def test_scope_must_be_a_short_name():
    from apps.idempotency.decorators import idempotent

    with pytest.raises(ValueError, match="scope"):
        idempotent(scope="")
    with pytest.raises(ValueError, match="scope"):
        idempotent(scope="x" * 65)


def test_record_reads_well_in_the_console(agency_a):
    record = IdempotencyRecord(scope="s", caller="ip:1", key="k", status_code=201)

    assert str(record) == "s ip:1 201"


def test_releasing_a_marker_survives_a_store_outage(tmp_path):
    from apps.idempotency.services import _Marker, _release_marker
    from tests.security.helpers import unreachable_hotkeys

    with unreachable_hotkeys(tmp_path):
        _release_marker(_Marker(b"\x02k\x00", b"v"))  # no exception: the marker expires


def test_console_lists_records_read_only(client, platform_admin):
    from apps.idempotency.admin import IdempotencyRecordAdmin

    otp_login(client, platform_admin)
    client.defaults["HTTP_HOST"] = "localhost"
    IdempotencyRecord.objects.create(
        scope="s", caller="ip:1", key="k", fingerprint="0" * 64, status_code=201
    )

    listing = client.get("/admin/idempotency/idempotencyrecord/")

    assert listing.status_code == 200
    assert client.get("/admin/idempotency/idempotencyrecord/add/").status_code == 403
    model_admin = IdempotencyRecordAdmin(IdempotencyRecord, None)
    assert not model_admin.has_change_permission(None)
    assert not model_admin.has_delete_permission(None)
