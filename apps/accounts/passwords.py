"""Password reset: a one-time code for citizens (API), a single-use link for staff (console).

**Citizens** (``password_reset_request`` / ``password_reset_confirm``): the login typed (an
e-mail address or a phone number) gets a 6-digit code, sent to that address only if it
belongs to an active account and is *verified*. The code rests in the hot-key store as an
HMAC bound to the login (``apps.accounts.codes``), attempts are limited, and at most
``PASSWORD_RESET_MAX_SENDS`` codes go to one login per ``OTP_TTL_SECONDS``.

Nothing tells whether the login exists: for an unknown, unverified or deactivated login the
same work is done with a code that is never sent, so the request gets the same answer
(status and body) and a later confirmation the same errors (``otp_invalid`` with the same
``attempts_left``, then ``otp_attempts_exceeded``). The request also takes at least
``PASSWORD_RESET_MIN_SECONDS`` either way, so the time a message takes to hand over does not
tell either.

**Staff** (``staff_password_reset_send``, console pages in ``apps.accounts.console``): a link
holding Django's password-reset token (single use: it is bound to the password hash and the
last sign-in; expiring after ``PASSWORD_RESET_TIMEOUT``), sent by e-mail, or SMS for a person
without one. An agency admin can send it to a member of their agency; that also ends the
member's sessions and makes the current password stop working.

A completed reset (``password_reset_complete``) ends every session: refresh tokens
blacklisted, access tokens denied through the hot-key store, console sessions invalidated
(Django ties them to the password hash), and every address on file is told through the
outbox (``password_changed``). Audited in the platform trail.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from apps.accounts.codes import code_check, code_new, code_store, subject_digest
from apps.accounts.identifiers import normalize_login
from apps.accounts.models import Membership, User
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import InvalidInput, ServiceUnavailableError

logger = structlog.get_logger(__name__)

PURPOSE = "pwreset"


def _normalised(login: str) -> tuple[str, str] | None:
    try:
        return normalize_login(login)
    except ValidationError:
        return None


def _reset_target(login: str) -> tuple[str, User | None, str]:
    """(subject, person, field) for a typed login; the person only when the code may go to
    them (an active account whose address is verified)."""
    parsed = _normalised(login)
    if parsed is None:
        return subject_digest(f"invalid|{login.strip().lower()}"), None, "email"
    field, value = parsed
    subject = subject_digest(f"{field}|{value}")
    user = User.objects.filter(**{field: value}, is_active=True).first()
    verified = user is not None and getattr(user, f"{field}_verified_at") is not None
    return subject, (user if verified else None), field


def _binding(subject: str, user: User | None) -> str:
    return f"{subject}|{user.pk if user is not None else '-'}"


def pad_to_floor(started: float) -> None:
    """Sleep so the request lasts at least ``PASSWORD_RESET_MIN_SECONDS``."""
    floor = float(settings.PASSWORD_RESET_MIN_SECONDS)
    elapsed = time.monotonic() - started
    if elapsed < floor:
        time.sleep(floor - elapsed)
    elif floor > 0:
        logger.warning("password_reset_slower_than_floor", seconds=round(elapsed, 3))


def _send_code(user: User, field: str, code: str) -> None:
    minutes = max(1, settings.OTP_TTL_SECONDS // 60)
    with translation.override(user.preferred_language):
        text = _(
            "Your Guichet password reset code is %(code)s. It expires in %(minutes)d minutes. "
            "If you did not ask for it, ignore this message and never share it."
        ) % {"code": code, "minutes": minutes}
        subject = _("Your Guichet password reset code")
    if field == "email":
        send_mail(subject, text, None, [str(user.email)])
    else:
        from apps.accounts.otp import send_sms

        send_sms(str(user.phone), text)


def password_reset_request(*, login: str) -> None:
    """Send a reset code to ``login`` if it is an active account's verified address.

    Returns nothing and raises nothing about the login: the same for every login. 503 only
    when the hot-key store is unreachable (for every login alike).
    """
    started = time.monotonic()
    try:
        subject, user, field = _reset_target(login)
        code = code_new()
        stored = code_store(
            purpose=PURPOSE,
            subject=subject,
            binding=_binding(subject, user),
            code=code,
            max_sends=int(settings.PASSWORD_RESET_MAX_SENDS),
        )
        if user is not None and stored:
            try:
                _send_code(user, field, code)
            except Exception as exc:  # the person asks again; the answer stays the same
                logger.warning("password_reset_delivery_failed", exc_type=type(exc).__name__)
            else:
                audit_record(
                    action="user.password_reset_requested",
                    target_type="user",
                    target_id=user.pk,
                    platform=True,
                )
                logger.info("password_reset_code_sent", user_id=str(user.pk))
    finally:
        pad_to_floor(started)


@transaction.atomic
def password_reset_complete(*, user: User, new_password: str, how: str) -> None:
    """Set ``new_password`` (validated) and end every session of ``user``. Audited
    (``user.password_reset``, ``how``: ``code``, ``link`` or ``invitation``)."""
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise InvalidInput(errors={"new_password": [str(m) for m in exc.messages]}) from exc
    from apps.accounts.services import user_tokens_revoke_all

    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke_all(user=user, at=time.time() + 1)
    if not bind_actor_present():
        bind_actor(actor_type="user", actor_id=str(user.pk))
    audit_record(
        action="user.password_reset",
        target_type="user",
        target_id=user.pk,
        changes={
            "password": {"old": "[redacted]", "new": "[redacted]"},
            "how": {"old": None, "new": how},
        },
        platform=True,
    )
    from apps.notifications.rendering import Template
    from apps.notifications.services import notification_enqueue

    # Every address on file hears of it, in the same transaction (outbox).
    notification_enqueue(recipient_id=user.pk, template=Template.PASSWORD_CHANGED)
    logger.info("user_password_reset", user_id=str(user.pk), how=how)


def bind_actor_present() -> bool:
    """Whether the work context already names an actor."""
    from apps.core.context import get_context

    return bool(get_context().actor_id)


def password_reset_confirm(*, login: str, code: str, new_password: str) -> None:
    """Check the code sent for ``login`` and set ``new_password``; every session ends.

    The password is checked first (400 ``validation_failed``: the code is not used up), then
    the code (``otp_invalid`` / ``otp_attempts_exceeded`` / ``otp_expired``), identically for
    logins that exist and logins that do not.
    """
    subject, user, field = _reset_target(login)
    probe = user or User(email=login if field == "email" else None)
    try:
        validate_password(new_password, probe)
    except ValidationError as exc:
        raise InvalidInput(errors={"new_password": [str(m) for m in exc.messages]}) from exc
    try:
        code_check(purpose=PURPOSE, subject=subject, binding=_binding(subject, user), code=code)
    except InvalidInput:
        audit_record(
            action="user.password_reset",
            target_type="user" if user else "",
            target_id=user.pk if user else "",
            outcome=Outcome.DENIED,
            platform=True,
        )
        raise
    if user is None:  # cannot happen: no code of an unknown login is ever sent
        raise InvalidInput(_("The code is wrong."), code="otp_invalid")
    password_reset_complete(user=user, new_password=new_password, how="code")


# --- staff: a single-use link ----------------------------------------------------------------


def staff_may_reset(user: User, schema: str) -> bool:
    """Whether ``user`` may reset through the console of ``schema`` (a member of that agency,
    or a platform admin on the public host)."""
    from django_tenants.utils import get_public_schema_name

    if not user.is_active:
        return False
    if schema == get_public_schema_name():
        return bool(user.is_superuser)
    return Membership.objects.filter(
        user=user, agency__schema_name=schema, ended_at__isnull=True
    ).exists()


def staff_reset_link(user: User, base_url: str) -> str:
    """The single-use link of ``user`` on the console at ``base_url``."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse(
        "console-password-reset-confirm", kwargs={"uidb64": uid, "token": token}
    )


def staff_password_reset_send(*, user: User, base_url: str) -> None:
    """Send ``user`` a link to set a new password (e-mail, or SMS without one).

    503 ``reset_delivery_failed`` when it cannot be handed over.
    """
    link = staff_reset_link(user, base_url)
    hours = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 3600)
    with translation.override(user.preferred_language):
        context: dict[str, Any] = {"url": link, "hours": hours}
        try:
            if user.email:
                subject = " ".join(
                    render_to_string("accounts/password_reset.subject.txt", context).split()
                )
                body = render_to_string("accounts/password_reset.email.txt", context)
                send_mail(subject, body, None, [user.email])
            else:
                from apps.accounts.otp import send_sms

                text = " ".join(
                    render_to_string("accounts/password_reset.sms.txt", context).split()
                )
                send_sms(str(user.phone), text)
        except Exception as exc:
            logger.warning("staff_reset_delivery_failed", exc_type=type(exc).__name__)
            raise ServiceUnavailableError(
                _("The message could not be sent. Please try again shortly."),
                code="reset_delivery_failed",
            ) from exc
    logger.info("staff_reset_link_sent", user_id=str(user.pk))


@transaction.atomic
def staff_password_reset_force(*, membership: Membership, actor: Any, base_url: str) -> None:
    """An admin resets a member's password: the current one stops working, every session
    ends, and a single-use link to choose a new one is sent. Audited
    (``user.password_reset_forced`` in the agency's chain)."""
    from apps.accounts.people import audit_in_agency
    from apps.accounts.services import user_tokens_revoke_all

    user = User.objects.select_for_update().get(pk=membership.user_id)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user_tokens_revoke_all(user=user, at=time.time() + 1)
    audit_in_agency(
        membership.agency,
        action="user.password_reset_forced",
        target_type="user",
        target_id=user.pk,
        changes={"password": {"old": "[redacted]", "new": "[redacted]"}},
    )
    staff_password_reset_send(user=user, base_url=base_url)
