"""Fixtures of the certificate tests: an issued certificate in agency A."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role, User
from apps.agencies.models import Agency
from apps.certificates.models import Certificate
from apps.certificates.services import certificate_issue
from tests.outbox.builders import in_state
from tests.outbox.conftest import published  # noqa: F401  (shared fixture)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Certificates of each test go to their own directory."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def agent(db: None, agency_a: Agency, staff_of: Any) -> User:
    return staff_of(agency_a, Role.AGENT)


@pytest.fixture
def approved(agency_a: Agency, citizen: User, agent: User) -> Any:
    """An approved application of ``citizen`` in agency A (no certificate yet)."""
    citizen.first_name, citizen.last_name = "Afi", "Mensah"
    citizen.save(update_fields=["first_name", "last_name"])
    return in_state("agence_a", citizen, agent, "approved")


@pytest.fixture
def certificate(approved: Any) -> Certificate:
    """The certificate issued for ``approved``."""
    with schema_context("agence_a"):
        issued = certificate_issue(application_id=approved.pk)
    assert issued is not None
    return issued
