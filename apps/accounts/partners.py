"""Partner machine clients: registration and the client-credentials token exchange."""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import PartnerClient, PartnerGrant
from apps.accounts.tokens import IssuedTokens, issue_partner_token
from apps.agencies.models import Agency
from apps.audit.models import Outcome
from apps.audit.services import audit_record
from apps.core.context import bind_actor
from apps.core.errors import InvalidInput, NotAuthenticatedError
from apps.core.tenancy import current_schema

# A fixed hash to check against when the client id is unknown, so both paths cost the same.
_DUMMY_SECRET_HASH = make_password("guichet-dummy-partner-secret")


@transaction.atomic
def partner_client_create(
    *, name: str, grants: dict[Agency, list[str]], client_id: str | None = None
) -> tuple[PartnerClient, str]:
    """Register a partner client; returns it with its secret, shown this once only."""
    secret = secrets.token_urlsafe(32)
    client = PartnerClient.objects.create(
        client_id=client_id or f"pc_{secrets.token_hex(8)}",
        secret_hash=make_password(secret),
        name=name,
    )
    for agency, scopes in grants.items():
        PartnerGrant.objects.create(client=client, agency=agency, scopes=sorted(set(scopes)))
    audit_record(
        action="partner_client.created",
        target_type="partner_client",
        target_id=client.id,
        changes={
            "grants": {
                "old": None,
                "new": {a.schema_name: sorted(set(s)) for a, s in grants.items()},
            }
        },
        platform=True,
    )
    return client, secret


def partner_token_obtain(*, client_id: str, client_secret: str, scope: str | None) -> IssuedTokens:
    """Exchange client credentials for a token scoped to this agency (OAuth2 style).

    An unknown client, a wrong secret and a client without a grant here all answer the same
    ``invalid_client``, so the endpoint reveals nothing about other agencies' partners.
    """
    schema = current_schema()
    client = PartnerClient.objects.filter(client_id=client_id, is_active=True).first()
    secret_ok = check_password(client_secret, client.secret_hash if client else _DUMMY_SECRET_HASH)
    grant = (
        PartnerGrant.objects.filter(client=client, agency__schema_name=schema).first()
        if client and secret_ok
        else None
    )
    if client is None or not secret_ok or grant is None:
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
