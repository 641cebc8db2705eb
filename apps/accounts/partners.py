"""Partner machine clients: registration, secrets (hashed, rotated with an overlap, revoked),
and the client-credentials token exchange.

A client belongs to one agency (whose admins, and platform admins, manage it) and holds
chosen scopes there (``PartnerScope``). Its secret is returned once, by the service that
makes it, and stored argon2-hashed (``PartnerSecret``). Rotating adds a secret and lets the
previous one work until the end of an overlap window; revoking the client refuses its secrets
and ends the tokens it already holds at once (hot-key store marker on its id).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import denylist
from apps.accounts.models import PartnerClient, PartnerGrant, PartnerScope, PartnerSecret
from apps.accounts.tokens import IssuedTokens, issue_partner_token
from apps.agencies.models import Agency
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import ConflictError, InvalidInput, NotAuthenticatedError, NotFoundError
from apps.core.tenancy import current_schema

# A fixed hash to check against when the client id is unknown, so both paths cost the same.
_DUMMY_SECRET_HASH = make_password("guichet-dummy-partner-secret")
SECRET_PREFIX = "pcs_"  # noqa: S105 - a visible prefix, so leaked secrets are recognisable


@dataclass(frozen=True)
class IssuedSecret:
    """A client with a secret to show once; ``previous_expires_at`` after a rotation."""

    client: PartnerClient
    secret: str
    previous_expires_at: datetime | None = None


def _scopes_valid(scopes: Iterable[str]) -> list[str]:
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in PartnerScope.values]
    if unknown:
        raise InvalidInput(
            _("Unknown scope: %(scopes)s.") % {"scopes": " ".join(unknown)},
            code="unknown_scope",
            errors={"scopes": [_("Unknown scope: %(scopes)s.") % {"scopes": " ".join(unknown)}]},
        )
    if not wanted:
        raise InvalidInput(
            _("Choose at least one scope."),
            code="validation_failed",
            errors={"scopes": [_("Choose at least one scope.")]},
        )
    return wanted


def _new_secret(client: PartnerClient) -> str:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    PartnerSecret.objects.create(client=client, secret_hash=make_password(secret))
    return secret


@transaction.atomic
def partner_client_create(
    *, name: str, grants: dict[Agency, list[str]], client_id: str | None = None
) -> tuple[PartnerClient, str]:
    """Register a partner client for one agency; returns it with its secret, shown this once.

    ``grants`` maps that one agency to the chosen scopes (known ``PartnerScope`` values only:
    400 ``unknown_scope``). Audited (``partner_client.created``).
    """
    if len(grants) != 1:
        raise InvalidInput(_("A partner client belongs to exactly one agency."))
    ((agency, scopes),) = grants.items()
    scopes = _scopes_valid(scopes)
    name = name.strip()
    if not name:
        raise InvalidInput(
            _("Give the partner client a name."),
            errors={"name": [_("Give the partner client a name.")]},
        )
    client = PartnerClient(name=name, agency=agency)
    if client_id:
        client.client_id = client_id
    client.save()
    PartnerGrant.objects.create(client=client, agency=agency, scopes=scopes)
    secret = _new_secret(client)
    audit_record(
        action="partner_client.created",
        target_type="partner_client",
        target_id=client.id,
        changes={
            "agency": {"old": None, "new": agency.schema_name},
            "scopes": {"old": None, "new": scopes},
        },
        platform=True,
    )
    return client, secret


def partner_client_list(*, agency: Agency | None) -> QuerySet[PartnerClient]:
    """The clients of ``agency`` (every client for None: platform admins), newest first,
    with their grants."""
    clients = PartnerClient.objects.select_related("agency").prefetch_related("grants")
    if agency is not None:
        clients = clients.filter(agency=agency)
    return clients.order_by("-created_at")


def partner_client_get(*, client_uuid: UUID | str, agency: Agency | None) -> PartnerClient:
    """One client of ``agency``; 404 for a client of another agency or none."""
    try:
        return partner_client_list(agency=agency).get(id=client_uuid)
    except (PartnerClient.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFoundError() from exc


@transaction.atomic
def partner_secret_rotate(
    *, client: PartnerClient, overlap: timedelta | None = None
) -> IssuedSecret:
    """A new secret for ``client``; the current ones keep working until now + ``overlap``
    (``PARTNER_SECRET_OVERLAP_SECONDS`` by default; 0 ends them at once).

    409 ``partner_client_revoked`` for a revoked client. Audited
    (``partner_client.secret_rotated``).
    """
    client = PartnerClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active:
        raise ConflictError(
            _("This partner client is revoked: its secret cannot be rotated."),
            code="partner_client_revoked",
        )
    if overlap is None:
        overlap = timedelta(seconds=settings.PARTNER_SECRET_OVERLAP_SECONDS)
    now = timezone.now()
    ends_at = now + overlap
    PartnerSecret.objects.filter(client=client).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=ends_at)
    ).update(expires_at=ends_at)
    secret = _new_secret(client)
    audit_record(
        action="partner_client.secret_rotated",
        target_type="partner_client",
        target_id=client.id,
        changes={"previous_secret_expires_at": {"old": None, "new": ends_at.isoformat()}},
        platform=True,
    )
    return IssuedSecret(client=client, secret=secret, previous_expires_at=ends_at)


@transaction.atomic
def partner_client_revoke(*, client: PartnerClient) -> PartnerClient:
    """Revoke a client at once: its secrets are refused and its tokens stop working.

    Revoking twice is a no-op (not audited twice). The hot-key marker is written first, so
    with the store down this fails (503) and nothing changes.
    """
    client = PartnerClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active:
        return client
    # Partner tokens name the client in ``sub``: every token issued before now is refused.
    denylist.user_tokens_revoke_before(user_id=str(client.id), at=timezone.now().timestamp() + 1)
    client.is_active = False
    client.revoked_at = timezone.now()
    client.save(update_fields=["is_active", "revoked_at"])
    audit_record(
        action="partner_client.revoked",
        target_type="partner_client",
        target_id=client.id,
        changes={"is_active": {"old": True, "new": False}},
        platform=True,
    )
    return client


def _matching_secret(client: PartnerClient | None, presented: str) -> PartnerSecret | None:
    """The client's live secret equal to ``presented``; one argon2 check per live secret (at
    most two outside a rotation), one against a dummy hash when there is none."""
    if client is None:
        check_password(presented, _DUMMY_SECRET_HASH)
        return None
    now = timezone.now()
    live = PartnerSecret.objects.filter(client=client).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    found = None
    checked = 0
    for candidate in live:
        checked += 1
        if found is None and check_password(presented, candidate.secret_hash):
            found = candidate
    if checked == 0:
        check_password(presented, _DUMMY_SECRET_HASH)
    return found


def partner_token_obtain(*, client_id: str, client_secret: str, scope: str | None) -> IssuedTokens:
    """Exchange client credentials for a token scoped to this agency (OAuth2 style).

    An unknown client, a wrong or expired secret, a revoked client and a client without a
    grant here all answer the same ``invalid_client``, so the endpoint reveals nothing about
    other agencies' partners. Records when the client and the secret were last used.
    """
    schema = current_schema()
    client = PartnerClient.objects.filter(client_id=client_id, is_active=True).first()
    secret = _matching_secret(client, client_secret)
    grant = (
        PartnerGrant.objects.filter(client=client, agency__schema_name=schema).first()
        if client and secret
        else None
    )
    if client is None or secret is None or grant is None:
        audit_record(action="auth.partner_token", outcome=Outcome.DENIED, platform=True)
        raise NotAuthenticatedError(_("Client authentication failed."), code="invalid_client")
    granted = set(grant.scopes)
    requested = set(scope.split()) if scope else granted
    if not requested <= granted:
        raise InvalidInput(
            _("The requested scope exceeds what this client was granted."),
            code="invalid_scope",
            errors={
                "scope": [_("Not granted: %(s)s") % {"s": " ".join(sorted(requested - granted))}]
            },
        )
    now = timezone.now()
    PartnerSecret.objects.filter(pk=secret.pk).update(last_used_at=now)
    PartnerClient.objects.filter(pk=client.pk).update(last_used_at=now)
    bind_actor(actor_type="partner", actor_id=str(client.id))
    audit_record(
        action="auth.partner_token",
        target_type="partner_client",
        target_id=client.id,
        changes={"scope": {"old": None, "new": " ".join(sorted(requested))}},
        platform=True,
    )
    return issue_partner_token(
        client_uuid=str(client.id),
        client_id=client.client_id,
        agency=schema,
        scopes=sorted(requested),
    )
