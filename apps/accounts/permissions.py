"""Who may call what: permission classes keyed on the token's kind, role and scopes."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts.authentication import token_kind
from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind


class IsPerson(BasePermission):
    """Any person's token (citizen, staff or platform), never a partner's."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return token_kind(request.auth) in (TokenKind.CITIZEN, TokenKind.STAFF, TokenKind.PLATFORM)


class IsCitizen(BasePermission):
    """A citizen token (valid on every agency's citizen endpoints)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return token_kind(request.auth) is TokenKind.CITIZEN


class IsPlatformAdmin(BasePermission):
    """A platform token of a platform administrator, on the public host."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return token_kind(request.auth) is TokenKind.PLATFORM and bool(
            getattr(request.user, "is_superuser", False)
        )


class IsAgencyStaff(BasePermission):
    """A staff token of this agency whose role is one of ``roles`` (all roles by default)."""

    roles: frozenset[str] = frozenset(Role.values)

    def has_permission(self, request: Request, view: Any) -> bool:
        if token_kind(request.auth) is not TokenKind.STAFF:
            return False
        return str(request.auth.get("role")) in self.roles  # type: ignore[union-attr]


def staff_with_roles(*roles: str) -> type[IsAgencyStaff]:
    """A permission class for staff holding one of ``roles``."""
    return type("IsAgencyStaffWithRoles", (IsAgencyStaff,), {"roles": frozenset(roles)})


def partner_with_scope(scope: str) -> type[BasePermission]:
    """A permission class for partner tokens that carry ``scope`` in this agency."""

    class HasPartnerScope(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return token_kind(request.auth) is TokenKind.PARTNER and scope in getattr(
                request.user, "scopes", frozenset()
            )

    HasPartnerScope.__name__ = f"HasPartnerScope_{scope.replace(':', '_')}"
    return HasPartnerScope
