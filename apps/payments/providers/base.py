"""The provider interface every payment adapter implements (mobile money today, cards later).

Failure semantics are part of the interface:

* ``ProviderUnavailable(sent=False)``: the request never reached the provider (connection
  refused): nothing happened there, trying again later is safe;
* ``ProviderUnavailable(sent=True)``: timeout or 5xx after the request left: the outcome is
  *unknown*. Callers never repeat the request blindly; they ask ``status`` for the identifier;
* ``ProviderError``: the provider answered and refused (bad parameters, duplicate identifier).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class RemoteStatus(StrEnum):
    """A payment or disbursement as the provider sees it."""

    PAID = "paid"
    PENDING = "pending"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    NOT_FOUND = "not_found"  # the provider never registered this identifier


@dataclass(frozen=True)
class ProviderStatus:
    """What the provider says about one identifier."""

    status: RemoteStatus
    amount_xof: int | None = None
    currency: str = "XOF"
    provider_reference: str = ""
    payment_reference: str = ""
    network: str = ""


@dataclass(frozen=True)
class CallbackData:
    """An authenticated callback: which identifier it is about (its claims are re-checked)."""

    identifier: str
    provider_reference: str = ""
    amount_xof: int | None = None


class ProviderUnavailable(Exception):
    """No usable answer. ``sent``: the request may have reached the provider (outcome unknown)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class ProviderError(Exception):
    """The provider answered and refused the request (``code``: its reason)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class CallbackInvalid(Exception):
    """A callback whose authentication or content does not hold (``reason``: why, for logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProvider(Protocol):
    """What the payment services need from a provider."""

    name: str

    def initiate(
        self,
        *,
        identifier: str,
        amount_xof: int,
        phone: str,
        network: str,
        description: str,
        callback_url: str = "",
    ) -> str:
        """Ask the provider to collect ``amount_xof`` from ``phone`` on ``network``.

        Returns the provider's reference. The citizen confirms on their phone afterwards: the
        payment is pending until ``status`` says otherwise.
        """
        ...

    def status(self, *, identifier: str) -> ProviderStatus:
        """The provider's current view of payment ``identifier``."""
        ...

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackData:
        """Authenticate a callback (raise ``CallbackInvalid``) and say which payment it names."""
        ...

    def disburse(
        self, *, identifier: str, amount_xof: int, phone: str, network: str, reason: str
    ) -> ProviderStatus:
        """Send ``amount_xof`` to ``phone`` (a refund). Same ``identifier``: same disbursement."""
        ...

    def disbursement_status(self, *, identifier: str) -> ProviderStatus:
        """The provider's current view of disbursement ``identifier``."""
        ...
