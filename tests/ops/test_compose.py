"""docker-compose.yml, checked statically (no Docker engine runs here).

* Every application container gets every setting the README marks *required* in production,
  each named with ``${VAR:?message}`` so a missing one stops ``docker compose up`` with its
  name; every variable Compose substitutes or hands to a container is in the README's table.
* Application containers connect as the rows-only role; the one-shot ``migrate`` as the owner.
* Every long-running service has a health check; every dependency says what it waits for
  (healthy for a long-running service, completed successfully for a one-shot), and web,
  worker and beat wait for ``migrate``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
COMPOSE_CODE = "\n".join(
    line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#")
)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
README = (ROOT / "README.md").read_text()
APP_ROLE = "guichet_app"
OWNER_ROLE = "guichet_owner"


def _readme_table() -> dict[str, str]:
    """Variable name -> its "default" column, from the README's environment table."""
    section = README.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
            table[name] = cells[1]
    return table


TABLE = _readme_table()
REQUIRED_IN_PRODUCTION = {
    name for name, default in TABLE.items() if "*required* in prod" in default
}
REQUIRED_BY_COMPOSE = {
    name for name, default in TABLE.items() if "*required* by `docker-compose.yml`" in default
}
APP_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)
ONE_SHOT = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
LONG_RUNNING = sorted(set(SERVICES) - ONE_SHOT)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: str(value) for name, value in environment.items()}


def test_the_readme_table_was_read():
    assert {"DJANGO_SECRET_KEY", "AUDIT_SIGNING_KEY", "CERTIFICATE_SIGNING_KEY"} <= (
        REQUIRED_IN_PRODUCTION
    )
    assert {"POSTGRES_PASSWORD", "POSTGRES_APP_PASSWORD"} <= REQUIRED_BY_COMPOSE
    assert set(APP_SERVICES) >= {"migrate", "web", "worker", "beat"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_app_service_gets_every_required_setting_as_a_refusing_substitution(service):
    environment = _environment(SERVICES[service])

    missing = REQUIRED_IN_PRODUCTION - environment.keys()
    assert not missing, f"{service} lacks {sorted(missing)}"
    for name in REQUIRED_IN_PRODUCTION:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", environment[name]), (
            f"{service}: {name} must be ${{{name}:?message}}, not {environment[name]!r}"
        )
    undocumented = environment.keys() - TABLE.keys()
    assert not undocumented, f"{service} sets variables the README does not list: {undocumented}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_do_not_receive_the_whole_dotenv(service):
    # .env holds the superuser's and the owner's passwords: it fills ${...}, nothing more.
    env_files = SERVICES[service].get("env_file") or []
    paths = [entry["path"] if isinstance(entry, dict) else entry for entry in env_files]
    assert ".env" not in [Path(path).name for path in paths]


def test_every_substituted_variable_is_documented_and_secrets_refuse_to_be_missing():
    substituted = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", COMPOSE_CODE))

    assert substituted - TABLE.keys() == set()
    for name in REQUIRED_BY_COMPOSE:
        assert re.search(rf"\$\{{{name}:\?[^}}]+\}}", COMPOSE_CODE), name
    # The README's .env example names every secret Compose requires.
    example = README.split("Put the secrets in `.env`", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert (REQUIRED_BY_COMPOSE | REQUIRED_IN_PRODUCTION) - named == set()


def _database_user(service: str) -> str:
    url = _environment(SERVICES[service])["DATABASE_URL"]
    return urlsplit(re.sub(r"\$\{[^}]+\}", "secret", url)).username or ""


@pytest.mark.parametrize("service", sorted(set(APP_SERVICES) - {"migrate"}))
def test_long_running_app_services_connect_as_the_rows_only_role(service):
    assert _database_user(service) == APP_ROLE


def test_migrations_run_as_the_owner_role_which_is_not_the_superuser():
    superuser = _environment(SERVICES["postgres"])["POSTGRES_USER"]

    assert _database_user("migrate") == OWNER_ROLE
    assert superuser != OWNER_ROLE
    command = " ".join(SERVICES["migrate"]["command"])
    assert "manage.py migrate_agencies" in command
    # Then the first token-signing key, which production never creates on first use.
    assert "manage.py keys_rotate --kind jwt --if-missing" in command
    assert "migrate" in ONE_SHOT
    roles_sql = (ROOT / "deploy" / "postgres" / "roles.sql").read_text()
    init = (ROOT / "deploy" / "postgres" / "initdb" / "10-roles.sh").read_text()
    assert f"owner={OWNER_ROLE}" in init
    assert f"app={APP_ROLE}" in init
    assert "ALTER DEFAULT PRIVILEGES" in roles_sql
    mounts = SERVICES["postgres"]["volumes"]
    assert "./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro" in mounts
    assert "./deploy/postgres/roles.sql:/guichet/roles.sql:ro" in mounts


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_a_health_check(service):
    healthcheck = SERVICES[service].get("healthcheck") or {}

    assert not healthcheck.get("disable"), f"{service}: health check disabled"
    assert healthcheck.get("test"), f"{service}: no health check"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_dependency_waits_for_the_right_condition(service):
    depends_on = SERVICES[service].get("depends_on") or {}

    assert isinstance(depends_on, dict), f"{service}: depends_on without conditions"
    for target, spec in depends_on.items():
        expected = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
        assert spec.get("condition") == expected, f"{service} -> {target}"


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_web_worker_and_beat_start_after_migrations(service):
    depends_on = SERVICES[service]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
