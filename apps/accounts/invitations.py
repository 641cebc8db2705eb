"""Inviting civil servants into an agency: single-use, expiring invitations.

``invitation_create`` draws a random token, stores only its SHA-256 (``Invitation.token_hash``)
and sends the link ``<agency host>/admin/invitation/<token>/`` by e-mail or SMS. The message is
handed to the mailer or the SMS gateway inside the transaction (like the one-time codes of
``apps.accounts.otp``, it never rests in the outbox, whose rows keep message bodies): if it
cannot be sent, nothing is written and the caller gets 503. A new invitation to the same address
in the same agency revokes the open one.

``invitation_accept`` (the console page, or ``POST /api/v1/invitations/accept/``) checks the
token under a row lock (single use), creates the person if nobody has that address yet, sets
their password (an existing person's sessions end, as after any password change), marks the
address verified (the link reached it) and grants the membership. The next step is the
console sign-in (``invitation_next_url``), where the second factor is enrolled once that
exists.

Every step is audited in the chain of the agency concerned.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.codes import token_digest
from apps.accounts.models import Invitation, Membership, Role, User
from apps.accounts.people import audit_in_agency, membership_activate
from apps.agencies.models import Agency
from apps.core.errors import ConflictError, InvalidInput, NotFoundError, ServiceUnavailableError

logger = structlog.get_logger(__name__)


def invitation_lifetime() -> timedelta:
    """How long an invitation link works (``INVITATION_TTL_SECONDS``, default 72 h)."""
    return timedelta(seconds=int(settings.INVITATION_TTL_SECONDS))


def invitation_next_url() -> str:
    """Where the invitee goes once their password is set: the console sign-in.

    The hook for the second factor: when staff must enrol one, the console sign-in leads
    there (it is the only way in), so nothing here needs to change.
    """
    return reverse("admin:login")


def agency_base_url(agency: Agency) -> str:
    """``GUICHET_AGENCY_URL`` filled with the agency's primary domain."""
    domain = agency.domains.filter(is_primary=True).values_list("domain", flat=True).first()
    return str(settings.GUICHET_AGENCY_URL).format(domain=domain or "").rstrip("/")


def invitation_url(agency: Agency, token: str) -> str:
    """The link of an invitation, on the agency's host."""
    return f"{agency_base_url(agency)}/admin/invitation/{token}/"


def _deliver(invitation: Invitation, token: str) -> None:
    context = {
        "agency": invitation.agency,
        "role": Role(invitation.role).label,
        "url": invitation_url(invitation.agency, token),
        "hours": max(1, int(invitation_lifetime().total_seconds()) // 3600),
    }
    try:
        if invitation.email:
            subject = " ".join(render_to_string("accounts/invitation.subject.txt", context).split())
            body = render_to_string("accounts/invitation.email.txt", context)
            send_mail(subject, body, None, [invitation.email])
        else:
            from apps.accounts.otp import send_sms

            text = " ".join(render_to_string("accounts/invitation.sms.txt", context).split())
            send_sms(str(invitation.phone), text)
    except Exception as exc:  # SMTP or SMS gateway: nothing is written, say so
        logger.warning("invitation_delivery_failed", exc_type=type(exc).__name__)
        raise ServiceUnavailableError(
            _("The invitation could not be sent. Please try again shortly."),
            code="invitation_delivery_failed",
        ) from exc


def _address_errors(email: str | None, phone: str | None) -> None:
    if bool(email) == bool(phone):
        message = _("Give an email address or a phone number (one of them).")
        raise InvalidInput(message, errors={"non_field_errors": [message]})


@transaction.atomic
def invitation_create(
    *,
    agency: Agency,
    role: str,
    invited_by: Any,
    email: str | None = None,
    phone: str | None = None,
    language: str | None = None,
) -> Invitation:
    """Invite the owner of ``email`` or ``phone`` (normalised) into ``role`` of ``agency``.

    409 ``already_member`` when that person already has an active membership there. Any open
    invitation to the same address in this agency is revoked. The link is sent before this
    returns (503 ``invitation_delivery_failed``: nothing written). Audited
    (``invitation.created``).
    """
    _address_errors(email, phone)
    if role not in Role.values:
        raise InvalidInput(errors={"role": [_("Unknown role.")]}, code="unknown_role")
    if not agency.is_active:
        raise ConflictError(_("This agency is deactivated."), code="agency_inactive")
    address = Q(user__email=email) if email else Q(user__phone=phone)
    if Membership.objects.filter(address, agency=agency, is_active=True).exists():
        raise ConflictError(
            _("This person is already a member of the agency's staff."), code="already_member"
        )
    now = timezone.now()
    open_ones = Invitation.objects.select_for_update().filter(
        Q(email=email) if email else Q(phone=phone),
        agency=agency,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )
    for previous in open_ones:
        previous.revoked_at = now
        previous.save(update_fields=["revoked_at"])
        audit_in_agency(
            agency,
            action="invitation.revoked",
            target_type="invitation",
            target_id=previous.pk,
            changes={"reason": {"old": None, "new": "superseded"}},
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        agency=agency,
        role=role,
        email=email or None,
        phone=phone or None,
        token_hash=token_digest(token),
        invited_by=invited_by if getattr(invited_by, "pk", None) else None,
        created_at=now,
        expires_at=now + invitation_lifetime(),
    )
    audit_in_agency(
        agency,
        action="invitation.created",
        target_type="invitation",
        target_id=invitation.pk,
        changes={
            "role": {"old": None, "new": role},
            "channel": {"old": None, "new": "email" if email else "phone"},
            "expires_at": {"old": None, "new": invitation.expires_at.isoformat()},
        },
    )
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        _deliver(invitation, token)
    logger.info("invitation_created", agency=agency.schema_name, invitation_id=str(invitation.pk))
    return invitation


def invitation_list(*, agency: Agency | None) -> QuerySet[Invitation]:
    """Invitations of ``agency`` (every agency for None: platform admins), newest first."""
    invitations = Invitation.objects.select_related("agency")
    if agency is not None:
        invitations = invitations.filter(agency=agency)
    return invitations.order_by("-created_at")


def invitation_get(*, invitation_id: Any, agency: Agency | None) -> Invitation:
    """One invitation of ``agency``; 404 for one of another agency or none."""
    try:
        return invitation_list(agency=agency).get(pk=invitation_id)
    except (Invitation.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFoundError() from exc


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Revoke an open invitation: its link stops working. 409 ``invitation_closed`` when it
    was accepted already; revoking twice changes nothing. Audited."""
    invitation = (
        Invitation.objects.select_for_update().select_related("agency").get(pk=invitation.pk)
    )
    if invitation.accepted_at is not None:
        raise ConflictError(_("This invitation was accepted already."), code="invitation_closed")
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_in_agency(
        invitation.agency,
        action="invitation.revoked",
        target_type="invitation",
        target_id=invitation.pk,
        changes={"revoked_at": {"old": None, "new": invitation.revoked_at.isoformat()}},
    )
    return invitation


def _invalid_link() -> InvalidInput:
    return InvalidInput(
        _("This invitation link is invalid, expired or already used."),
        code="invitation_invalid",
        errors={"token": [_("This invitation link is invalid, expired or already used.")]},
    )


def invitation_for_token(*, token: str, agency: Agency | None = None) -> Invitation:
    """The open invitation of this link (on ``agency``'s host when given), or 400
    ``invitation_invalid`` (unknown, expired, revoked, accepted, another agency's)."""
    invitation = (
        Invitation.objects.select_related("agency")
        .filter(token_hash=token_digest(token or ""))
        .first()
    )
    if (
        invitation is None
        or invitation.status != "pending"
        or (agency is not None and invitation.agency_id != agency.pk)
    ):
        raise _invalid_link()
    return invitation


def _person_for(invitation: Invitation) -> tuple[User, bool]:
    field = "email" if invitation.email else "phone"
    address = invitation.email or invitation.phone
    user = User.objects.select_for_update().filter(**{field: address}).first()
    if user is not None:
        return user, False
    return User(email=invitation.email, phone=invitation.phone), True


@transaction.atomic
def invitation_accept(*, token: str, password: str, agency: Agency | None = None) -> Membership:
    """Accept an invitation: the person (created if new) gets ``password`` and the membership.

    400 ``invitation_invalid`` for an unknown, expired, revoked or used link (nothing changes),
    400 ``validation_failed`` for a password the validators refuse (the link still works).
    Single use under a row lock: of two simultaneous acceptances one wins. Audited
    (``invitation.accepted``, ``membership.granted``).
    """
    found = invitation_for_token(token=token, agency=agency)
    invitation = Invitation.objects.select_for_update().select_related("agency").get(pk=found.pk)
    if invitation.status != "pending":
        raise _invalid_link()
    user, created = _person_for(invitation)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(errors={"password": [str(m) for m in exc.messages]}) from exc
    if not user.is_active:
        raise _invalid_link()  # a deactivated account is not reopened by an invitation
    now = timezone.now()
    user.set_password(password)
    if invitation.email:
        user.email_verified_at = user.email_verified_at or now
    else:
        user.phone_verified_at = user.phone_verified_at or now
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # an account with a look-alike address (email_skeleton)
        raise ConflictError(
            _("An account already exists with this email address or phone number."),
            code="account_exists",
        ) from exc
    if not created:  # a new password: the sessions the person had end, as after a reset
        from apps.accounts.services import user_tokens_revoke_all

        user_tokens_revoke_all(user=user, at=time.time() + 1)
    invitation.accepted_at = now
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    audit_in_agency(
        invitation.agency,
        action="invitation.accepted",
        target_type="invitation",
        target_id=invitation.pk,
        changes={
            "user": {"old": None, "new": str(user.pk)},
            "new_account": {"old": None, "new": created},
        },
        actor=user,
    )
    membership = membership_activate(
        user=user, agency=invitation.agency, role=invitation.role, actor=user
    )
    logger.info("invitation_accepted", invitation_id=str(invitation.pk), user_id=str(user.pk))
    return membership
