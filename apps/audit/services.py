"""Recording audit events. Every write in the platform calls ``audit_record``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.audit.models import AuditEvent, Outcome
from apps.core.context import get_context

REDACTED = "[redacted]"


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


def audit_record(
    *,
    action: str,
    target_type: str = "",
    target_id: Any = "",
    changes: Mapping[str, Any] | None = None,
    outcome: str = Outcome.SUCCESS,
    platform: bool = False,
) -> AuditEvent:
    """Record one audit event in the current agency's trail, or the platform's.

    Call it inside the transaction of the change it describes so both commit or neither does.
    Actor, address, user agent and request id come from the current work context.
    ``platform=True`` writes to the public schema whatever agency the request is on.
    """
    context = get_context()
    schema = get_public_schema_name() if platform else connection.schema_name
    event = AuditEvent(
        occurred_at=timezone.now(),
        agency_schema=schema,
        actor_type=context.actor_type,
        actor_id=context.actor_id,
        actor_role=context.actor_role,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id else "",
        changes=dict(changes or {}),
        outcome=outcome,
        ip=context.ip,
        user_agent=context.user_agent,
        request_id=context.request_id,
    )
    if platform and connection.schema_name != schema:
        with schema_context(schema):
            event.save(force_insert=True)
    else:
        event.save(force_insert=True)
    return event
