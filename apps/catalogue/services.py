"""Writes of the catalogue: services and public holidays of the current agency.

Every function audits its change and keeps the public-schema catalogue index
(``apps.directory``) in step in the same transaction. Only published services are indexed:
a draft never leaves its agency's schema.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from apps.audit.services import audit_changes, audit_record
from apps.catalogue.models import DocumentDefinition, PublicHoliday, Service
from apps.core.errors import ConflictError, InvalidInput
from apps.directory.services import service_entry_remove, service_entry_sync

logger = structlog.get_logger(__name__)

# Fields an update may change; publication has its own services (and audit actions).
SERVICE_EDITABLE_FIELDS = (
    "code",
    "name_fr",
    "name_en",
    "description_fr",
    "description_en",
    "category",
    "form_schema",
    "document_types",
    "fee_xof",
    "sla_working_days",
)
HOLIDAY_FIELDS = ("date", "name_fr", "name_en")


def _snapshot(instance: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: getattr(instance, field) for field in fields}


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        errors={field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    )


def _check(instance: Service | PublicHoliday) -> None:
    """Field rules, then the uniqueness the database will enforce anyway (nicer message)."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise _invalid(exc) from exc


def _save(instance: Service | PublicHoliday, *, code: str, **kwargs: Any) -> None:
    """Save in a savepoint, turning a lost uniqueness race into a 409."""
    try:
        with transaction.atomic():
            instance.save(**kwargs)
    except IntegrityError as exc:
        raise ConflictError(_("This value is already in use."), code=code) from exc


def _reindex(service: Service) -> None:
    schema: str = connection.schema_name  # type: ignore[attr-defined]
    if service.is_published:
        service_entry_sync(agency_schema=schema, service=service)
    else:
        service_entry_remove(agency_schema=schema, service_id=service.id)


@transaction.atomic
def service_create(
    *,
    code: str,
    name_fr: str,
    name_en: str,
    category: str,
    form_schema: dict[str, Any],
    sla_working_days: int,
    description_fr: str = "",
    description_en: str = "",
    document_types: list[dict[str, Any]] | None = None,
    fee_xof: int = 0,
    is_published: bool = False,
) -> Service:
    """Add a service to the current agency's catalogue (indexed at once if published).

    Raises ``InvalidInput`` with field errors (invalid JSON Schema, bad document types, ...)
    and ``ConflictError`` (``service_code_taken``) when the code is in use.
    """
    service = Service(
        code=code,
        name_fr=name_fr,
        name_en=name_en,
        category=category,
        form_schema=form_schema,
        sla_working_days=sla_working_days,
        description_fr=description_fr,
        description_en=description_en,
        document_types=list(document_types or []),
        fee_xof=fee_xof,
        is_published=is_published,
    )
    _check(service)
    _save(service, code="service_code_taken", force_insert=True)
    audit_record(
        action="service.created",
        target_type="service",
        target_id=service.id,
        changes=audit_changes(
            before={}, after=_snapshot(service, (*SERVICE_EDITABLE_FIELDS, "is_published"))
        ),
    )
    _reindex(service)
    logger.info("service_created", service_code=service.code, published=service.is_published)
    return service


@transaction.atomic
def service_update(*, service: Service, changes: Mapping[str, Any]) -> Service:
    """Change some fields of a service (not its publication: see ``service_publish``).

    The row is locked for the duration, so two admins saving at once are applied one after
    the other. Returns the saved service; a call that changes nothing writes nothing.
    """
    unknown = sorted(set(changes) - set(SERVICE_EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(
            errors={field: [_("This field cannot be changed here.")] for field in unknown}
        )
    locked = Service.objects.select_for_update().get(pk=service.pk)
    before = _snapshot(locked, SERVICE_EDITABLE_FIELDS)
    for field, value in changes.items():
        setattr(locked, field, value)
    after = _snapshot(locked, SERVICE_EDITABLE_FIELDS)
    diff = audit_changes(before=before, after=after)
    if not diff:
        return locked
    _check(locked)
    _save(locked, code="service_code_taken")
    audit_record(action="service.updated", target_type="service", target_id=locked.id, changes=diff)
    _reindex(locked)
    logger.info("service_updated", service_code=locked.code, fields=sorted(diff))
    return locked


def _set_published(service: Service, *, is_published: bool) -> Service:
    locked = Service.objects.select_for_update().get(pk=service.pk)
    if locked.is_published == is_published:
        return locked
    locked.is_published = is_published
    locked.save(update_fields=["is_published", "updated_at"])
    audit_record(
        action="service.published" if is_published else "service.unpublished",
        target_type="service",
        target_id=locked.id,
        changes=audit_changes(
            before={"is_published": not is_published}, after={"is_published": is_published}
        ),
    )
    _reindex(locked)
    logger.info("service_publication_changed", service_code=locked.code, published=is_published)
    return locked


@transaction.atomic
def service_publish(*, service: Service) -> Service:
    """Show a service to citizens and in the cross-agency search (no-op if already shown)."""
    return _set_published(service, is_published=True)


@transaction.atomic
def service_unpublish(*, service: Service) -> Service:
    """Hide a service from citizens and remove it from the search (existing applications stay)."""
    return _set_published(service, is_published=False)


@transaction.atomic
def public_holiday_create(*, date: datetime.date, name_fr: str, name_en: str) -> PublicHoliday:
    """Declare a public holiday of the current agency (deadlines computed after it skip it)."""
    holiday = PublicHoliday(date=date, name_fr=name_fr, name_en=name_en)
    _check(holiday)
    _save(holiday, code="holiday_exists", force_insert=True)
    audit_record(
        action="holiday.created",
        target_type="public_holiday",
        target_id=holiday.date.isoformat(),
        changes=audit_changes(before={}, after=_snapshot(holiday, HOLIDAY_FIELDS)),
    )
    return holiday


@transaction.atomic
def public_holiday_update(*, holiday: PublicHoliday, changes: Mapping[str, Any]) -> PublicHoliday:
    """Change a public holiday's date or names."""
    unknown = sorted(set(changes) - set(HOLIDAY_FIELDS))
    if unknown:
        raise InvalidInput(
            errors={field: [_("This field cannot be changed here.")] for field in unknown}
        )
    locked = PublicHoliday.objects.select_for_update().get(pk=holiday.pk)
    before = _snapshot(locked, HOLIDAY_FIELDS)
    for field, value in changes.items():
        setattr(locked, field, value)
    diff = audit_changes(before=before, after=_snapshot(locked, HOLIDAY_FIELDS))
    if not diff:
        return locked
    _check(locked)
    _save(locked, code="holiday_exists")
    audit_record(
        action="holiday.updated",
        target_type="public_holiday",
        target_id=locked.date.isoformat(),
        changes=diff,
    )
    return locked


@transaction.atomic
def public_holiday_delete(*, holiday: PublicHoliday) -> None:
    """Remove a public holiday (deadlines already computed keep their value)."""
    deleted, _count = PublicHoliday.objects.filter(pk=holiday.pk).delete()
    if not deleted:
        return
    audit_record(
        action="holiday.deleted",
        target_type="public_holiday",
        target_id=holiday.date.isoformat(),
        changes=audit_changes(before=_snapshot(holiday, HOLIDAY_FIELDS), after={}),
    )


def document_definition_save(
    *, service: Service, definition: Any, actor_id: str = ""
) -> DocumentDefinition:
    """Save ``definition`` as the service's newest document definition version (audited).

    Validated against the service's form (400 ``invalid_input`` listing the problems); the
    same definition as the current version writes nothing and returns the current version.
    """
    from apps.catalogue.documents import definition_errors

    errors = definition_errors(definition, service.form_schema)
    if errors:
        raise InvalidInput(errors={"definition": errors})
    with transaction.atomic():
        Service.objects.select_for_update().filter(pk=service.pk).first()
        current = document_definition_current(service=service)
        if current is not None and current.definition == definition:
            return current
        version = (current.version if current is not None else 0) + 1
        row = DocumentDefinition.objects.create(
            service=service, version=version, definition=definition, created_by=actor_id
        )
        audit_record(
            action="service.document_defined",
            target_type="service",
            target_id=service.pk,
            changes={"document_version": {"old": version - 1 or None, "new": version}},
        )
    return row


def document_definition_current(*, service: Service) -> DocumentDefinition | None:
    """The newest document definition version of ``service``, or None."""
    return DocumentDefinition.objects.filter(service=service).order_by("-version").first()


def document_definition_for_issue(*, service: Service) -> DocumentDefinition:
    """The version a certificate is issued under: the current one, or a first one made from
    the service's form (``default_definition``) when the agency never defined its document."""
    from apps.catalogue.documents import default_definition

    current = document_definition_current(service=service)
    if current is not None:
        return current
    return document_definition_save(
        service=service, definition=default_definition(service), actor_id="system"
    )
