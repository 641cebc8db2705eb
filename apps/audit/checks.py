"""System checks: the checkpoint signing key must be present and readable."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from apps.audit.signing import parse_master_key


@register()
def check_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``audit.E001`` when ``AUDIT_SIGNING_KEY`` is missing or not an Ed25519 private key."""
    try:
        parse_master_key(getattr(settings, "AUDIT_SIGNING_KEY", ""))
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set AUDIT_SIGNING_KEY to a base64 32-byte Ed25519 private key (see "
                "docs/audit.md).",
                id="audit.E001",
            )
        ]
    return []
