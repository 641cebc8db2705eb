"""Agency lifecycle: creation by template cloning, deactivation, migrating every schema."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_exists

from apps.agencies.models import Agency, Domain, schema_name_for_slug
from apps.audit.services import audit_changes, audit_record
from apps.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from apps.core.tenancy import activate_public

logger = structlog.get_logger(__name__)

TEMPLATE_SCHEMA: str = settings.TENANT_BASE_SCHEMA


def default_domain_for(slug: str) -> str:
    """``<slug>.<GUICHET_BASE_DOMAIN>``."""
    return f"{slug}.{settings.GUICHET_BASE_DOMAIN}"


def expected_migrations() -> set[tuple[str, str]]:
    """Every migration the code defines (each schema records all of them as applied)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return set(loader.graph.nodes)


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    """Migrations recorded in ``schema`` (empty when the schema or its table is missing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".django_migrations'])
        if not cursor.fetchone()[0]:
            return set()
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def _migrate_one(schema: str, *, shared: bool) -> None:
    if shared:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    else:
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=schema,
            interactive=False,
            verbosity=0,
        )
    activate_public()


def template_schema_ensure() -> bool:
    """Create and migrate the template schema agencies are cloned from. True if it changed."""
    if not schema_exists(TEMPLATE_SCHEMA):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
    if expected_migrations() <= applied_migrations(TEMPLATE_SCHEMA):
        return False
    _migrate_one(TEMPLATE_SCHEMA, shared=False)
    return True


@dataclass(frozen=True)
class MigrationProgress:
    """One line of progress of ``agencies_migrate``."""

    index: int
    total: int
    schema: str
    state: str  # "up to date", "migrated", "failed"
    seconds: float


def agencies_migrate(
    *, report: Callable[[MigrationProgress], None], schemas: list[str] | None = None
) -> list[MigrationProgress]:
    """Migrate the public schema, the template and every agency, skipping the up-to-date ones.

    Each schema is migrated on its own and records its migrations, so after a failure the
    next run resumes where it stopped: finished schemas are skipped in one query each.
    Stops at the first failure (re-raised) after reporting it.
    """
    expected = expected_migrations()
    public = get_public_schema_name()
    results: list[MigrationProgress] = []

    def run(schema: str, index: int, total: int) -> None:
        started = time.perf_counter()
        if schema == TEMPLATE_SCHEMA and not schema_exists(schema):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{TEMPLATE_SCHEMA}"')
        state = "up to date"
        if not expected <= applied_migrations(schema):
            try:
                _migrate_one(schema, shared=schema == public)
            except Exception:
                report(MigrationProgress(index, total, schema, "failed", 0.0))
                logger.exception("schema_migration_failed", schema=schema)
                raise
            state = "migrated"
        progress = MigrationProgress(index, total, schema, state, time.perf_counter() - started)
        results.append(progress)
        report(progress)

    if schemas is not None:
        for index, schema in enumerate(schemas, start=1):
            run(schema, index, len(schemas))
        return results
    # The public schema first: the list of agencies lives there.
    agency_count = 0
    if applied_migrations(public) >= expected:
        agency_count = Agency.objects.exclude(schema_name=public).count()
    run(public, 1, agency_count + 2)
    agency_schemas = list(
        Agency.objects.exclude(schema_name=public)
        .order_by("created_at", "slug")
        .values_list("schema_name", flat=True)
    )
    total = len(agency_schemas) + 2
    run(TEMPLATE_SCHEMA, 2, total)
    for index, schema in enumerate(agency_schemas, start=3):
        run(schema, index, total)
    return results


def schema_creation_allowed() -> bool:
    """Whether the connected database role may create schemas (``CREATE`` on the database).

    In production the application connects as a role that only reads and writes rows
    (deploy/postgres/roles.sql): agencies are then created through the owner role.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_database_privilege(current_database(), 'CREATE')")
        return bool(cursor.fetchone()[0])


@transaction.atomic
def agency_create(
    *,
    slug: str,
    name_fr: str,
    name_en: str,
    contact_email: str = "",
    contact_phone: str = "",
    domain: str | None = None,
) -> Agency:
    """Create an agency: clone the template schema, attach its host name, audit it.

    All of it happens in one transaction (PostgreSQL DDL is transactional), so a failure
    leaves no half-made schema behind. Refused (403 ``agency_creation_needs_owner``) when the
    database role cannot create schemas: the operator creates it with ``create_agency`` as the
    owner role (docs/operations.md).
    """
    if not schema_creation_allowed():
        raise PermissionDeniedError(
            _(
                "Agencies are created by the platform operator in this deployment "
                "(manage.py create_agency, as the database owner)."
            ),
            code="agency_creation_needs_owner",
        )
    host = (domain or default_domain_for(slug)).lower()
    if Agency.objects.filter(slug=slug).exists() or schema_exists(schema_name_for_slug(slug)):
        raise ConflictError(_("An agency with this slug already exists."), code="agency_exists")
    if Domain.objects.filter(domain=host).exists() or host in settings.GUICHET_PUBLIC_HOSTS:
        raise ConflictError(_("This host name is already in use."), code="domain_taken")
    agency = Agency(
        slug=slug,
        schema_name=schema_name_for_slug(slug),
        name_fr=name_fr,
        name_en=name_en,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    try:
        agency.full_clean(exclude=["schema_name"])
    except ValidationError as exc:
        raise InvalidInput(
            errors={k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        ) from exc
    template_schema_ensure()
    agency.save(verbosity=0)
    Domain.objects.create(domain=host, tenant=agency, is_primary=True)
    activate_public()
    audit_record(
        action="agency.created",
        target_type="agency",
        target_id=agency.id,
        changes={"slug": {"old": None, "new": slug}, "domain": {"old": None, "new": host}},
        platform=True,
    )
    logger.info("agency_created", agency=agency.schema_name)
    return agency


@transaction.atomic
def agency_set_active(*, agency: Agency, is_active: bool) -> Agency:
    """Activate or deactivate an agency; its hosts answer 404 while it is inactive."""
    locked = Agency.objects.select_for_update().get(pk=agency.pk)
    if locked.is_active == is_active:
        return locked
    before = {"is_active": locked.is_active}
    locked.is_active = is_active
    locked.deactivated_at = None if is_active else timezone.now()
    locked.save(update_fields=["is_active", "deactivated_at"])
    audit_record(
        action="agency.activated" if is_active else "agency.deactivated",
        target_type="agency",
        target_id=locked.id,
        changes=audit_changes(before=before, after={"is_active": is_active}),
        platform=True,
    )
    return locked
