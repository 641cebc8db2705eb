"""Shared fixtures: two test agencies created once per run, API clients, tokens.

Schema creation is the slow part, so agencies A and B are made once per session (by cloning
the template, as in production) and every test runs in a transaction rolled back at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import override_settings
from django.utils import translation
from rest_framework.test import APIClient

from apps.accounts.keyring import keyring_cache_clear, keyring_signing_key
from apps.accounts.mfa.services import AMR_PASSWORD, AMR_PASSWORD_OTP
from apps.accounts.models import Role, User
from apps.accounts.services import membership_grant
from apps.accounts.tokens import SECOND_FACTOR_KINDS, IssuedTokens, TokenKind, issue_user_tokens
from apps.agencies import hostcache
from apps.agencies.models import Agency
from apps.agencies.services import agency_create
from apps.core.context import set_context
from tests.factories import UserFactory

PUBLIC_HOST = "localhost"
HOST_A = "agence-a.localhost"
HOST_B = "agence-b.localhost"


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    """The migrated test database plus agencies A and B (cloned from the template).

    Always set up, even for a run of tests that only use committed data (a real worker thread
    in tests/core/test_celery.py): pytest-django alone creates databases only for tests marked
    ``django_db``.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases={"default"},
            serialized_aliases=set(),
        )
        connection.set_schema_to_public()
        for slug, host in (("agence-a", HOST_A), ("agence-b", HOST_B)):
            if not Agency.objects.filter(slug=slug).exists():
                agency_create(
                    slug=slug,
                    name_fr=f"Agence {slug[-1].upper()}",
                    name_en=f"Agency {slug[-1].upper()}",
                    domain=host,
                )
        connection.set_schema_to_public()
        keyring_signing_key()  # the first token-signing key, committed (KEYRING_AUTO_CREATE)
        keyring_cache_clear()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            connections.close_all()
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


def _agency(django_db_blocker: Any, slug: str) -> Agency:
    with django_db_blocker.unblock():
        return Agency.objects.get(slug=slug)


@pytest.fixture(scope="session")
def agency_a(django_db_setup: None, django_db_blocker: Any) -> Agency:
    return _agency(django_db_blocker, "agence-a")


@pytest.fixture(scope="session")
def agency_b(django_db_setup: None, django_db_blocker: Any) -> Agency:
    return _agency(django_db_blocker, "agence-b")


@pytest.fixture(autouse=True)
def _isolate_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test starts on the public schema with empty caches, an empty hot-key store (rate
    limits, lockouts, the token denylist live there), no work context and the default language
    (a request's LocaleMiddleware leaves its language active in the thread)."""
    translation.deactivate()
    cache.clear()
    hostcache.clear()  # entries may describe rows that an earlier test's rollback undid
    keyring_cache_clear()  # so may the signing keys a process holds (a rolled-back rotation)
    set_context(None)
    hotkeys = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.lmdb.LMDBStore",
            "OPTIONS": {"path": str(tmp_path_factory.mktemp("hotkeys")), "map_size": 64 * 1024**2},
        }
    }
    with override_settings(HOTKEYS=hotkeys):  # opened lazily, on first use
        yield
    connection.set_schema_to_public()
    hostcache.clear()
    set_context(None)
    translation.deactivate()


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """``api(host, token=None)``: an API client for a host, optionally with a bearer token."""

    def make(host: str = PUBLIC_HOST, token: str | None = None) -> APIClient:
        client = APIClient(HTTP_HOST=host)
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def citizen(db: None) -> User:
    return UserFactory(email="citoyen@example.tg", phone="+22890000001")


@pytest.fixture
def other_citizen(db: None) -> User:
    return UserFactory(email="autre@example.tg", phone="+22890000002")


@pytest.fixture
def platform_admin(db: None) -> User:
    return UserFactory(email="plateforme@example.tg", is_superuser=True, is_staff=True)


@pytest.fixture
def staff_of(db: None) -> Callable[..., User]:
    """``staff_of(agency, role)``: a civil servant with that role in that agency."""

    def make(agency: Agency, role: str = Role.AGENT) -> User:
        user = UserFactory()
        membership_grant(user=user, agency=agency, role=role)
        return user

    return make


@pytest.fixture
def tokens() -> Callable[..., IssuedTokens]:
    """``tokens(user, kind, agency=None, role=None, amr=None)``: tokens as the token endpoint
    issues them. Staff and platform tokens carry ``amr`` ["pwd", "otp", "mfa"] by default (the
    second factor passed); pass ``amr=["pwd"]`` for one obtained on a password alone."""

    def make(
        user: User,
        kind: TokenKind = TokenKind.CITIZEN,
        agency: Agency | None = None,
        role: str | None = None,
        amr: list[str] | None = None,
    ) -> IssuedTokens:
        schema = agency.schema_name if agency is not None else None
        if kind is TokenKind.PLATFORM:
            schema = "public"
        if amr is None:
            amr = list(AMR_PASSWORD_OTP if kind in SECOND_FACTOR_KINDS else AMR_PASSWORD)
        return issue_user_tokens(user=user, kind=kind, agency=schema, role=role, amr=amr)

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``redis`` unless the broker is Redis, saying why (``-ra`` prints it).

    `make test` without variables runs on Celery's filesystem transport; .ci/run's second step
    runs ``-m "redis or broker"`` with the machine's Redis.
    """
    from django.conf import settings

    scheme = str(settings.CELERY_BROKER_URL).partition(":")[
        0
    ]  # not the URL: it may hold a password
    if scheme in ("redis", "rediss"):
        return
    skip = pytest.mark.skip(
        reason=f"needs a Redis broker, CELERY_BROKER_URL is {scheme}:// "
        "(.ci/run runs it in its second step, on the machine's Redis)"
    )
    for item in items:
        if item.get_closest_marker("redis") is not None:
            item.add_marker(skip)
