"""Fixtures of the webhook tests: partners with and without the scope, their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from apps.accounts.models import PartnerClient
from apps.accounts.services import partner_client_create
from apps.accounts.tokens import issue_partner_token
from apps.agencies.models import Agency
from tests.outbox.conftest import published  # noqa: F401  (shared fixture)

SCOPE = "webhooks:manage"


@dataclass
class Partner:
    """A partner client and an access token for one agency."""

    client: PartnerClient
    token: str


def make_partner(agency: Agency, scopes: list[str], name: str = "Banque") -> Partner:
    client, _secret = partner_client_create(name=name, grants={agency: scopes})
    token = issue_partner_token(
        client_uuid=str(client.id),
        client_id=client.client_id,
        agency=agency.schema_name,
        scopes=scopes,
    ).access
    return Partner(client, token)


@pytest.fixture
def partner(db: None, agency_a: Agency) -> Partner:
    return make_partner(agency_a, [SCOPE])


@pytest.fixture
def other_partner(db: None, agency_a: Agency) -> Partner:
    return make_partner(agency_a, [SCOPE], name="Autre banque")


@pytest.fixture
def unscoped_partner(db: None, agency_a: Agency) -> Partner:
    return make_partner(agency_a, ["catalogue:read"], name="Intégrateur")


@pytest.fixture
def partner_of_b(db: None, agency_b: Agency) -> Partner:
    return make_partner(agency_b, [SCOPE], name="Banque B")


def subscription_body(url: str = "https://hooks.example.tg/guichet", **extra: Any) -> dict:
    return {"url": url, "events": ["application.submitted", "certificate.issued"], **extra}
