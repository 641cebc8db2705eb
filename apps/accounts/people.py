"""The people of an agency: roles, suspension, end of membership (agency and platform admins).

Agency admins manage the memberships of their own agency (``agency`` = the host's agency);
platform admins manage every agency's (``agency=None``). A membership of another agency does
not exist for the caller (404). Every change is audited in the chain of the agency concerned
and, when it takes access away or changes what a token says (role, suspension, end), ends
the person's sessions at once: refresh tokens blacklisted, every access token issued before
the next second refused through the hot-key store (``services.user_tokens_revoke_all``).
The console checks the membership on every page, so console sessions stop at the next click.

Guards: an admin cannot suspend, end or demote their own membership, and an agency keeps at
least one active agency admin (409).
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role, User
from apps.agencies.models import Agency
from apps.audit.services import audit_changes, audit_record
from apps.core.context import bind_actor, get_context
from apps.core.errors import ConflictError, InvalidInput, NotFoundError
from apps.core.tenancy import current_schema

logger = structlog.get_logger(__name__)


def audit_in_agency(
    agency: Agency,
    *,
    action: str,
    target_type: str,
    target_id: Any,
    changes: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """Record an event in ``agency``'s chain, whichever host the change came through (a
    platform admin works on the public host), so the agency's auditors see who was given or
    lost access to its data. ``actor``: the person acting when nobody is signed in (an
    invitee accepting)."""
    if actor is not None and not get_context().actor_id:
        bind_actor(actor_type="user", actor_id=str(actor.pk))
    if current_schema() == agency.schema_name:
        audit_record(action=action, target_type=target_type, target_id=target_id, changes=changes)
        return
    with schema_context(agency.schema_name):
        audit_record(action=action, target_type=target_type, target_id=target_id, changes=changes)


def _sessions_end(user: User) -> None:
    from apps.accounts.services import user_tokens_revoke_all

    # A token issued in this very second dies too: the change must win over it.
    user_tokens_revoke_all(user=user, at=time.time() + 1)


def membership_list(*, agency: Agency | None) -> QuerySet[Membership]:
    """Memberships of ``agency`` (every agency for None), with their person and agency."""
    memberships = Membership.objects.select_related("user", "agency")
    if agency is not None:
        memberships = memberships.filter(agency=agency)
    return memberships.order_by("-created_at", "id")


def membership_get(*, membership_id: Any, agency: Agency | None) -> Membership:
    """One membership of ``agency``; 404 for another agency's or none."""
    try:
        return membership_list(agency=agency).get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFoundError() from exc


def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "agency")
        .get(pk=membership.pk)
    )


def _guard(membership: Membership, actor: Any, *, losing_admin: bool) -> None:
    if actor is not None and str(membership.user_id) == str(getattr(actor, "pk", "")):
        raise ConflictError(
            _("You cannot change or end your own membership."), code="own_membership"
        )
    if losing_admin and membership.role == Role.AGENCY_ADMIN and membership.is_active:
        others = (
            Membership.objects.filter(
                agency_id=membership.agency_id, role=Role.AGENCY_ADMIN, is_active=True
            )
            .exclude(pk=membership.pk)
            .exists()
        )
        if not others:
            raise ConflictError(
                _("The agency must keep at least one active agency administrator."),
                code="last_agency_admin",
            )


@transaction.atomic
def membership_activate(*, user: User, agency: Agency, role: str, actor: Any = None) -> Membership:
    """Give ``user`` an active membership in ``role`` (new, or a suspended/ended one reopened).
    Audited (``membership.granted``)."""
    membership, created = Membership.objects.select_for_update().get_or_create(
        user=user, agency=agency, defaults={"role": role}
    )
    before = {} if created else {"role": membership.role, "status": membership.status}
    if not created:
        membership.role = role
        membership.is_active = True
        membership.suspended_at = None
        membership.ended_at = None
        membership.save(update_fields=["role", "is_active", "suspended_at", "ended_at"])
    changes = audit_changes(before=before, after={"role": role, "status": "active"})
    if changes:
        audit_in_agency(
            agency,
            action="membership.granted",
            target_type="membership",
            target_id=membership.pk,
            changes={**changes, "user": {"old": None, "new": str(user.pk)}},
        )
    return membership


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Any) -> Membership:
    """Give the member another role; their sessions end (their tokens name the old role).
    Audited (``membership.role_changed``)."""
    if role not in Role.values:
        raise InvalidInput(errors={"role": [_("Unknown role.")]}, code="unknown_role")
    membership = _locked(membership)
    if membership.ended_at is not None:
        raise ConflictError(_("This membership has ended."), code="membership_ended")
    if membership.role == role:
        return membership
    _guard(membership, actor, losing_admin=membership.role == Role.AGENCY_ADMIN)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_in_agency(
        membership.agency,
        action="membership.role_changed",
        target_type="membership",
        target_id=membership.pk,
        changes={"role": {"old": old, "new": role}},
    )
    _sessions_end(membership.user)
    logger.info("membership_role_changed", membership_id=str(membership.pk))
    return membership


@transaction.atomic
def membership_suspend(*, membership: Membership, actor: Any) -> Membership:
    """Suspend a membership: every session of the person ends at once, sign-in to this agency
    is refused until it is reactivated. 409 ``membership_ended`` for an ended one; twice is a
    no-op. Audited (``membership.suspended``)."""
    membership = _locked(membership)
    if membership.ended_at is not None:
        raise ConflictError(_("This membership has ended."), code="membership_ended")
    if not membership.is_active:
        return membership
    _guard(membership, actor, losing_admin=True)
    membership.is_active = False
    membership.suspended_at = timezone.now()
    membership.save(update_fields=["is_active", "suspended_at"])
    audit_in_agency(
        membership.agency,
        action="membership.suspended",
        target_type="membership",
        target_id=membership.pk,
        changes={"status": {"old": "active", "new": "suspended"}},
    )
    _sessions_end(membership.user)
    logger.info("membership_suspended", membership_id=str(membership.pk))
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, actor: Any) -> Membership:
    """Lift a suspension. 409 ``membership_ended`` for an ended membership (invite the person
    again). Audited (``membership.reactivated``)."""
    membership = _locked(membership)
    if membership.ended_at is not None:
        raise ConflictError(_("This membership has ended."), code="membership_ended")
    if membership.is_active:
        return membership
    membership.is_active = True
    membership.suspended_at = None
    membership.save(update_fields=["is_active", "suspended_at"])
    audit_in_agency(
        membership.agency,
        action="membership.reactivated",
        target_type="membership",
        target_id=membership.pk,
        changes={"status": {"old": "suspended", "new": "active"}},
    )
    return membership


@transaction.atomic
def membership_end(*, membership: Membership, actor: Any) -> Membership:
    """End a membership for good (kept for the record; a new invitation reopens it). Every
    session of the person ends at once. Twice is a no-op. Audited (``membership.ended``)."""
    membership = _locked(membership)
    if membership.ended_at is not None:
        return membership
    _guard(membership, actor, losing_admin=True)
    old = membership.status
    membership.is_active = False
    membership.ended_at = timezone.now()
    membership.save(update_fields=["is_active", "ended_at"])
    audit_in_agency(
        membership.agency,
        action="membership.ended",
        target_type="membership",
        target_id=membership.pk,
        changes={"status": {"old": old, "new": "ended"}},
    )
    _sessions_end(membership.user)
    logger.info("membership_ended", membership_id=str(membership.pk))
    return membership
