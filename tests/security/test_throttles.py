"""Store-backed throttles: per user, partner client, source address, agency, and scoped."""

from __future__ import annotations

import time
import uuid

import pytest
from rest_framework.test import APIClient

from apps.accounts.tokens import issue_partner_token
from apps.core import throttling
from apps.core.metrics import FAIL_OPEN
from apps.core.throttling import parse_rate
from apps.hotkeys.keys import hot_prefix, unpack_key
from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem
from tests.security.helpers import with_rates

pytestmark = pytest.mark.django_db

PING = "/test/ping/"


@pytest.fixture(autouse=True)
def _ping_urls(settings):
    settings.ROOT_URLCONF = "tests.security.urls_tenant"
    settings.PUBLIC_SCHEMA_URLCONF = "tests.security.urls_public"


def client(host: str = HOST_A, token: str | None = None, ip: str = "127.0.0.1") -> APIClient:
    made = APIClient(HTTP_HOST=host, REMOTE_ADDR=ip)
    if token:
        made.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return made


def statuses(made: APIClient, times: int) -> list[int]:
    return [made.get(PING).status_code for _ in range(times)]


def partner_token(client_id: str, agency: str = "agence_a") -> str:
    return issue_partner_token(
        client_uuid=str(uuid.uuid4()), client_id=client_id, agency=agency, scopes=[]
    ).access


def test_anonymous_callers_are_limited_per_source_address(settings):
    with_rates(settings, ip="3/min")

    assert statuses(client(ip="10.0.0.1"), 3) == [200, 200, 200]
    refused = client(ip="10.0.0.1").get(PING)
    other_address = client(ip="10.0.0.2").get(PING)

    body = assert_problem(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert str(int(refused["Retry-After"])) in body["detail"]
    assert other_address.status_code == 200


def test_retry_after_is_the_time_left_in_the_window(settings):
    with_rates(settings, ip="1/hour")
    client().get(PING)

    refused = client().get(PING)

    left = 3600 - int(time.time()) % 3600
    assert abs(int(refused["Retry-After"]) - left) <= 2


def test_people_are_limited_per_person_not_per_address(settings, citizen, other_citizen, tokens):
    with_rates(settings, user="2/min", ip="1/min")
    mine, theirs = tokens(citizen).access, tokens(other_citizen).access

    assert statuses(client(token=mine), 3) == [200, 200, 429]
    assert statuses(client(token=theirs), 2) == [200, 200]  # same address, own budget


def test_partner_clients_are_limited_per_client(settings):
    with_rates(settings, partner="2/min", ip="1/min", user="1/min")

    assert statuses(client(token=partner_token("pc_one")), 3) == [200, 200, 429]
    assert statuses(client(token=partner_token("pc_two")), 2) == [200, 200]
    # A new token of the same client shares its budget.
    assert client(token=partner_token("pc_one")).get(PING).status_code == 429


def test_an_agency_is_limited_as_a_whole_without_touching_the_others(settings):
    with_rates(settings, agency="3/min", ip="100/min")

    in_a = [client(HOST_A, ip=f"10.0.1.{n}").get(PING).status_code for n in range(4)]
    in_b = client(HOST_B).get(PING)
    public = statuses(client(PUBLIC_HOST), 4)

    assert in_a == [200, 200, 200, 429]
    assert in_b.status_code == 200
    assert public == [200, 200, 200, 200]  # the public host has no agency budget


def test_counts_live_in_the_hot_key_store_under_the_agency_schema(settings):
    with_rates(settings, ip="5/min")

    client(HOST_A).get(PING)

    counted = get_store().range(hot_prefix("agence_a", "throttle"))
    assert {unpack_key(key)[2] for key, _ in counted} == {"ip", "agency"}
    assert get_store().range(hot_prefix("agence_b", "throttle")) == []


def test_counters_are_shared_by_every_process(settings):
    """Another process (simulated by writing the store directly) spends the same budget."""
    with_rates(settings, ip="3/min")
    client(ip="10.0.0.9").get(PING)
    for key, _ in get_store().range(hot_prefix("agence_a", "throttle", "ip")):
        get_store().add(key, 2)

    assert client(ip="10.0.0.9").get(PING).status_code == 429


def test_rate_switched_off_does_not_count(settings):
    with_rates(settings, ip="", agency=None)

    assert statuses(client(), 5) == [200] * 5
    assert get_store().range(hot_prefix("agence_a", "throttle")) == []


def test_sign_in_scope_is_per_source_and_shared_with_the_default_throttles(api, settings, citizen):
    with_rates(settings, auth="2/min")
    body = {"login": citizen.email, "password": PASSWORD}

    first = [client(PUBLIC_HOST).post("/api/v1/auth/token/", body).status_code for _ in range(3)]
    elsewhere = client(PUBLIC_HOST, ip="10.9.9.9").post("/api/v1/auth/token/", body)

    assert first == [200, 200, 429]
    assert elsewhere.status_code == 200


def test_sign_up_has_its_own_scope(settings):
    with_rates(settings, register="1/hour")
    body = {"email": "x1@example.tg", "password": "une-longue-phrase-secrete"}

    assert client(PUBLIC_HOST).post("/api/v1/auth/register/", body).status_code == 201
    refused = client(PUBLIC_HOST).post("/api/v1/auth/register/", {**body, "email": "x2@example.tg"})

    assert_problem(refused, 429, "throttled")


def test_store_down_fails_open_with_a_warning_and_a_metric(settings, unreachable_store, caplog):
    with_rates(settings, ip="1/min", agency="1/min")
    before = FAIL_OPEN.labels(check="throttle")._value.get()

    assert statuses(client(), 3) == [200, 200, 200]

    assert FAIL_OPEN.labels(check="throttle")._value.get() == before + 6  # 2 throttles × 3
    warnings = [r for r in caplog.records if "throttle_store_unavailable" in r.getMessage()]
    assert len(warnings) == 6
    assert all(r.levelname == "WARNING" for r in warnings)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("20/min", (20, 60)),
        ("10/hour", (10, 3600)),
        ("5/s", (5, 1)),
        ("100/5m", (100, 300)),
        ("3/15min", (3, 900)),
        ("1/day", (1, 86400)),
        ("", None),
        (None, None),
    ],
)
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["20", "x/min", "0/min", "5/fortnight", "5/0m", "5/xm"])
def test_parse_rate_refuses_nonsense(rate):
    with pytest.raises(ValueError, match="invalid throttle rate"):
        parse_rate(rate)


def test_base_throttle_has_no_identity():
    with pytest.raises(NotImplementedError):
        throttling.HotKeyRateThrottle().get_ident_for(None, None)


def test_scoped_throttle_counts_each_kind_of_caller_separately(settings, citizen, tokens):
    with_rates(settings, ping="1/min")
    person, partner = tokens(citizen).access, partner_token("pc_scoped")

    first = [client(token=t).get("/test/scoped/").status_code for t in (person, partner, None)]
    second = [client(token=t).get("/test/scoped/").status_code for t in (person, partner, None)]

    assert first == [200, 200, 200]
    assert second == [429, 429, 429]
    idents = {unpack_key(k)[3] for k, _ in get_store().range(hot_prefix("agence_a", "throttle"))}
    assert idents == {f"user:{citizen.id}", "partner:pc_scoped", "ip:127.0.0.1"}


def test_a_view_without_scope_is_not_counted(settings):
    with_rates(settings, ping="1/min")

    assert [client().get("/test/unscoped/").status_code for _ in range(3)] == [200] * 3
    assert get_store().range(hot_prefix("agence_a", "throttle")) == []
