"""The demo seed creates the demo agencies, accounts and data, and is idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Membership, User
from apps.agencies.models import Agency

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return Agency.objects.count(), User.objects.count(), Membership.objects.count()


def test_seed_demo_twice_creates_everything_once():
    out = io.StringIO()

    call_command("seed_demo", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=io.StringIO())

    assert _counts() == first
    assert set(Agency.objects.values_list("slug", flat=True)) >= {"etat-civil", "mairie-lome"}
    assert User.objects.filter(email="admin@guichet.localhost", is_superuser=True).exists()
    assert Membership.objects.filter(agency__slug="etat-civil").count() == 4
    assert Membership.objects.filter(agency__slug="mairie-lome").count() == 4
    text = out.getvalue()
    assert "demo only" in text.lower()
    assert "agent@etat-civil.localhost" in text
    assert "afi.mensah@example.tg" in text
    # Staff and the platform admin get the demo authenticator; the output says how to get a code.
    assert "totp_code" in text
    assert TOTPDevice.objects.filter(name="demo", confirmed=True).count() == 9
