"""Recording audit events. Every write in the platform calls ``audit_record``.

* ``audit_record``: one event in the current agency's chain (or the platform's), inside the
  transaction of the change it describes.
* ``audit_changes`` / ``audit_snapshot`` / ``audit_changes_for``: the ``changes`` dictionary
  (``{field: {"old": ..., "new": ...}}``) with personal data redacted, either from explicit
  lists or from a model's declared ``AUDIT_REDACTED_FIELDS``.
* ``audit_access``: staff opened something that holds personal data (an access event).
* ``audit_denied``: a refused attempt (401, 403, or 404 on another agency's object) in the
  platform trail; never raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import structlog
from django.db import models, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from apps.audit.canonical import clean_text, normalise_changes, normalise_ip
from apps.audit.chain import chain_append
from apps.audit.models import AuditEvent, Outcome
from apps.core.context import get_context
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)

REDACTED = "[redacted]"
ACCESS_ACTION = "access.read"
DENIED_ACTION = "access.denied"

# (request id, event id) of the last "denied" event recorded in the platform trail, so the
# exception handler does not record a second one for an attempt a service already recorded
# (it checks that the event still exists: the service's transaction may have rolled back).
_denied_recorded: ContextVar[tuple[str, Any] | None] = ContextVar(
    "audit_denied_recorded", default=None
)


def _field_max(name: str) -> int:
    field = AuditEvent._meta.get_field(name)
    max_length = getattr(field, "max_length", None)
    assert isinstance(max_length, int)
    return max_length


def audit_changes(
    *,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    redact: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for the fields that changed.

    Fields named in ``redact`` (personal data) keep their name but not their values.
    """
    hidden = set(redact)
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        if field in hidden:
            changes[field] = {"old": REDACTED, "new": REDACTED}
        else:
            changes[field] = {"old": _jsonable(old), "new": _jsonable(new)}
    return changes


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def redacted_fields(model: type[models.Model] | models.Model) -> frozenset[str]:
    """The personal-data fields a model declares in ``AUDIT_REDACTED_FIELDS``."""
    model_class = model if isinstance(model, type) else type(model)
    return frozenset(getattr(model_class, "AUDIT_REDACTED_FIELDS", ()))


def audit_snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The values of ``fields`` (all concrete fields by default) of ``instance``, by name.

    Take it before changing the instance and pass it as ``before`` to ``audit_changes_for``.
    Foreign keys are captured as their id under the field's name.
    """
    opts = instance._meta
    names = (
        list(fields)
        if fields is not None
        else [f.name for f in opts.concrete_fields if not getattr(f, "primary_key", False)]
    )
    snapshot: dict[str, Any] = {}
    for name in names:
        field = opts.get_field(name)
        snapshot[name] = field.value_from_object(instance)  # type: ignore[union-attr]
    return snapshot


def audit_changes_for(
    before: models.Model | Mapping[str, Any] | None,
    after: models.Model,
    fields: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The changes between ``before`` and ``after``, redacted by ``AUDIT_REDACTED_FIELDS``.

    ``before`` is an earlier copy of the instance, a snapshot from ``audit_snapshot`` or None
    for a creation (every field then changes from None). ``fields`` limits the comparison.
    """
    names = list(fields) if fields is not None else None
    new = audit_snapshot(after, names)
    if before is None:
        old: Mapping[str, Any] = {}
    elif isinstance(before, models.Model):
        old = audit_snapshot(before, list(new))
    else:
        old = {name: before.get(name) for name in new}
    return audit_changes(before=old, after=new, redact=redacted_fields(after))


def audit_record(
    *,
    action: str,
    target_type: str = "",
    target_id: Any = "",
    changes: Mapping[str, Any] | None = None,
    outcome: str = Outcome.SUCCESS,
    platform: bool = False,
) -> AuditEvent:
    """Record one audit event in the current agency's chain, or the platform's.

    Call it inside the transaction of the change it describes so both commit or neither does
    (outside a transaction it commits on its own). Actor, role, address, user agent and request
    id come from the current work context (``apps.core.context``); the agency is the schema the
    connection is on, or the public schema with ``platform=True``. The event is numbered and
    hashed into the schema's chain (``apps.audit.chain``), which holds that chain's append lock
    until the transaction ends.
    """
    context = get_context()
    event = AuditEvent(
        actor_type=clean_text(context.actor_type, _field_max("actor_type")),
        actor_id=clean_text(context.actor_id, _field_max("actor_id")),
        actor_role=clean_text(context.actor_role, _field_max("actor_role")),
        action=clean_text(action, _field_max("action")),
        target_type=clean_text(target_type, _field_max("target_type")),
        target_id=clean_text(target_id if target_id else "", _field_max("target_id")),
        changes=normalise_changes(dict(changes or {})),
        outcome=str(outcome),
        ip=normalise_ip(context.ip),
        user_agent=clean_text(context.user_agent, _field_max("user_agent")),
        request_id=clean_text(context.request_id, _field_max("request_id")),
    )
    public = get_public_schema_name()
    if platform and current_schema() != public:
        with schema_context(public):
            chain_append(event)
    else:
        chain_append(event)
    if outcome == Outcome.DENIED and platform:
        _denied_recorded.set((context.request_id, event.pk))
    return event


def _denied_already_recorded(request_id: str) -> bool:
    marker = _denied_recorded.get()
    if marker is None or marker[0] != request_id:
        return False
    with schema_context(get_public_schema_name()):
        return AuditEvent.objects.filter(pk=marker[1]).exists()


def audit_access(
    *,
    target_type: str,
    target_id: Any,
    fields: Iterable[str] = (),
    purpose: str = "",
) -> AuditEvent:
    """Record that the current actor read ``target`` (which holds personal data).

    For staff opening a citizen's application and the like: one ``access.read`` event in the
    current agency's chain, naming the personal fields shown (``fields``) and, when the caller
    knows it, why (``purpose``, e.g. ``"review"``). Commits at once outside a transaction.
    """
    details: dict[str, Any] = {}
    shown = sorted(set(fields))
    if shown:
        details["fields"] = shown
    if purpose:
        details["purpose"] = purpose
    return audit_record(
        action=ACCESS_ACTION, target_type=target_type, target_id=target_id, changes=details
    )


def audit_denied(
    *,
    status: int,
    method: str,
    path: str,
    code: str = "",
    target_type: str = "",
    target_id: Any = "",
) -> AuditEvent | None:
    """Record a refused attempt in the platform trail; never raises.

    Called by the API's exception handler for every 401 and 403 (once per request: not again
    when a service already recorded a denied event for this request), and by services that
    answer 404 for an object that exists in another agency (pass ``target_type``/``target_id``).
    The agency the request was on, the method and the path (without query string) go in
    ``changes``. A failure to record is logged (``audit_denied_not_recorded``) and swallowed:
    it must never turn a 401 into a 500.
    """
    context = get_context()
    details = {
        "status": int(status),
        "method": clean_text(method, 16),
        "path": clean_text(path, 256),
        "agency": current_schema(),
    }
    if code:
        details["code"] = clean_text(code, 64)
    try:
        if _denied_already_recorded(context.request_id):
            return None
        with transaction.atomic():
            event = audit_record(
                action=DENIED_ACTION,
                target_type=target_type,
                target_id=target_id,
                changes=details,
                outcome=Outcome.DENIED,
                platform=True,
            )
    except Exception as exc:
        logger.exception("audit_denied_not_recorded", status=status, exc_type=type(exc).__name__)
        return None
    return event
