"""Liveness, readiness and metrics."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
def test_healthz_answers_on_every_host(api, host):
    response = api(host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_part(api):
    response = api().get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "hotkeys": "ok",
        "storage": "ok",
        "channel_layer": "ok",
    }


def test_readyz_names_the_broker_when_it_is_down(api, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = api().get("/readyz")

    body = assert_problem(response, 503, "not_ready")
    assert body["checks"]["broker"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "broker" in body["detail"]


def test_metrics_count_requests(api, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    api().get("/healthz")

    response = api().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")

    assert response.status_code == 200
    assert b"guichet_http_requests_total" in response.content


def test_request_log_names_the_agency_of_the_host(api, caplog):
    caplog.set_level(logging.INFO, logger="guichet.request")

    api(HOST_A).get("/healthz")

    finished = [r for r in caplog.records if "request_finished" in r.getMessage()]
    assert finished
    assert "agence_a" in finished[-1].getMessage()
