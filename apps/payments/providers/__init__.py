"""Payment providers: one interface (``base.PaymentProvider``), one adapter per provider kind.

``provider_for(name)`` returns the configured adapter; today ``mobile_money`` (an aggregator of
T-Money and Flooz, PayGate Global-like, ``aggregator.AggregatorProvider``). A card provider
implements the same interface and registers under its own name.
"""

from __future__ import annotations

from apps.payments.providers.base import (
    CallbackInvalid,
    PaymentProvider,
    ProviderError,
    ProviderStatus,
    ProviderUnavailable,
    RemoteStatus,
)

MOBILE_MONEY = "mobile_money"


def provider_for(name: str = MOBILE_MONEY) -> PaymentProvider:
    """The adapter of provider ``name``, configured from the settings (environment)."""
    from apps.payments.providers.aggregator import AggregatorProvider

    if name == MOBILE_MONEY:
        return AggregatorProvider.from_settings()
    raise KeyError(name)


__all__ = [
    "MOBILE_MONEY",
    "CallbackInvalid",
    "PaymentProvider",
    "ProviderError",
    "ProviderStatus",
    "ProviderUnavailable",
    "RemoteStatus",
    "provider_for",
]
