"""The hot-key store genuinely unreachable: readiness says so, security checks fail closed
(503), rate limits fail open, idempotency falls back on PostgreSQL.

Two real ways to lose the store, no mock: an LMDB directory that cannot be created, and the
FoundationDB backend with a cluster file that points nowhere (on these machines the client
library is missing too, which the backend also reports as unavailable).
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings

from apps.hotkeys.registry import get_store
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import PASSWORD
from tests.helpers import assert_problem
from tests.security.helpers import unreachable_hotkeys, with_rates

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["lmdb-unopenable", "fdb-bogus-cluster"])
def dead_store(request, tmp_path):
    """The store unreachable, in each of the two ways."""
    if request.param == "lmdb-unopenable":
        with unreachable_hotkeys(tmp_path):
            yield request.param
        return
    cluster_file = tmp_path / "fdb.cluster"
    cluster_file.write_text("bogus:nothing@127.0.0.1:1\n")  # nothing listens on port 1
    config = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.fdb.FoundationDBStore",
            "OPTIONS": {"cluster_file": str(cluster_file), "timeout_ms": 300},
        }
    }
    with override_settings(HOTKEYS=config):
        yield request.param


def test_the_store_is_really_unreachable(dead_store):
    from apps.hotkeys.base import StoreUnavailable

    with pytest.raises(StoreUnavailable):
        get_store().ping()


def test_readyz_is_503_naming_the_hot_key_store(api, dead_store):
    response = api(HOST_A).get("/readyz")

    body = assert_problem(response, 503, "not_ready")
    assert body["checks"]["hotkeys"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "hotkeys" in body["detail"]


def test_readyz_is_ready_with_the_store_back(api):
    response = api(HOST_A).get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["hotkeys"] == "ok"


def test_token_checks_fail_closed(api, citizen, tokens, dead_store):
    access = tokens(citizen).access

    assert_problem(api(PUBLIC_HOST, access).get("/api/v1/me/"), 503, "service_unavailable")


def test_sign_in_fails_closed(api, citizen, dead_store):
    response = api(PUBLIC_HOST).post(
        "/api/v1/auth/token/", {"login": citizen.email, "password": PASSWORD}
    )

    assert_problem(response, 503, "service_unavailable")
    assert "access" not in response.json()


def test_one_time_codes_fail_closed(citizen, dead_store):
    from apps.accounts.otp import otp_request
    from apps.core.errors import ServiceUnavailableError

    with pytest.raises(ServiceUnavailableError):
        otp_request(user=citizen, channel="email")
    assert mail.outbox == []


def test_rate_limits_fail_open_and_sign_up_idempotency_falls_back(api, settings, dead_store):
    with_rates(settings, register="1/hour", ip="1/hour")
    body = {"email": "ouvert@example.tg", "password": "une-longue-phrase-secrete"}

    first = api(PUBLIC_HOST).post("/api/v1/auth/register/", body, HTTP_IDEMPOTENCY_KEY="k1")
    retry = api(PUBLIC_HOST).post("/api/v1/auth/register/", body, HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == 201  # throttles let it through
    assert retry.status_code == 201  # over the limit, still through: fail open
    assert retry["Idempotent-Replayed"] == "true"  # and answered from PostgreSQL
