"""The mobile-money aggregator adapter (PayGate Global-like), plain HTTP with timeouts.

The aggregator's API (JSON over HTTPS, ``auth_token`` in every body):

* ``POST /api/v1/pay``: start a payment for an ``identifier`` of ours → ``tx_reference`` and a
  ``status`` code (0 registered, 2 bad token, 4 bad parameters, 6 identifier already used);
* ``POST /api/v2/status``: the payment of an ``identifier`` → ``status`` (0 paid, 2 pending,
  4 expired, 6 cancelled), ``amount``, ``tx_reference``, ``payment_reference``; 404 unknown;
* ``POST /api/v1/disburse`` and ``/api/v1/disburse/status``: send money back (refunds), keyed by
  an ``identifier`` of ours (the same identifier never pays twice);
* callbacks to our URL, signed ``X-Payment-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of
  "<t>.<body>">`` with the shared callback secret.

Settings (environment): ``PAYMENTS_AGGREGATOR_URL``, ``PAYMENTS_AGGREGATOR_TOKEN``,
``PAYMENTS_CALLBACK_SECRET``, ``PAYMENTS_CONNECT_TIMEOUT_SECONDS``,
``PAYMENTS_READ_TIMEOUT_SECONDS``, ``PAYMENTS_CALLBACK_TOLERANCE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.outbox.http import HTTPDeliveryError, http_post
from apps.payments.providers.base import (
    CallbackData,
    CallbackInvalid,
    ProviderError,
    ProviderStatus,
    ProviderUnavailable,
    RemoteStatus,
)

SIGNATURE_HEADER = "X-Payment-Signature"
NETWORK_CODES = {"tmoney": "TMONEY", "flooz": "FLOOZ"}
PAY_ERRORS = {2: "invalid_token", 4: "invalid_parameters", 6: "duplicate_identifier"}
STATUS_CODES = {
    0: RemoteStatus.PAID,
    2: RemoteStatus.PENDING,
    4: RemoteStatus.EXPIRED,
    6: RemoteStatus.CANCELLED,
}
DISBURSE_CODES = {0: RemoteStatus.PAID, 2: RemoteStatus.PENDING, 4: RemoteStatus.FAILED}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass
class AggregatorProvider:
    """The adapter; ``from_settings`` builds it from the environment."""

    base_url: str
    token: str
    callback_secret: str
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    tolerance_seconds: int = 300
    name: str = "mobile_money"

    @classmethod
    def from_settings(cls) -> AggregatorProvider:
        """The adapter configured by ``PAYMENTS_*`` settings."""
        return cls(
            base_url=str(settings.PAYMENTS_AGGREGATOR_URL).rstrip("/"),
            token=str(settings.PAYMENTS_AGGREGATOR_TOKEN),
            callback_secret=str(settings.PAYMENTS_CALLBACK_SECRET),
            connect_timeout=float(settings.PAYMENTS_CONNECT_TIMEOUT_SECONDS),
            read_timeout=float(settings.PAYMENTS_READ_TIMEOUT_SECONDS),
            tolerance_seconds=int(settings.PAYMENTS_CALLBACK_TOLERANCE_SECONDS),
        )

    # --- HTTP ------------------------------------------------------------------------------

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not self.base_url:
            raise ProviderUnavailable("PAYMENTS_AGGREGATOR_URL is not set", sent=False)
        body = json.dumps({"auth_token": self.token, **payload}).encode()
        try:
            result = http_post(
                f"{self.base_url}{path}",
                body=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
        except HTTPDeliveryError as exc:
            # Refused or unreachable before anything was sent: nothing happened over there.
            sent = str(exc).startswith(("read timeout", "request failed"))
            raise ProviderUnavailable(str(exc), sent=sent) from exc
        if result.status >= 500:
            raise ProviderUnavailable(f"provider answered {result.status}", sent=True)
        try:
            data = json.loads(result.body or b"{}")
        except ValueError as exc:
            raise ProviderUnavailable(
                "provider answered something that is not JSON", sent=True
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(
                "provider answered something that is not an object", sent=True
            )
        return result.status, data

    @staticmethod
    def _amount(value: Any) -> int | None:
        try:
            amount = float(value)
        except (TypeError, ValueError):
            return None
        return int(amount) if amount.is_integer() else None

    # --- Interface -------------------------------------------------------------------------

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
        """``POST /api/v1/pay``; the provider's reference (``tx_reference``)."""
        payload: dict[str, Any] = {
            "phone_number": phone,
            "amount": amount_xof,
            "description": description[:100],
            "identifier": identifier,
            "network": NETWORK_CODES[network],
        }
        if callback_url:
            payload["callback_url"] = callback_url
        http_status, data = self._post("/api/v1/pay", payload)
        code = data.get("status")
        if http_status != 200 or code != 0:
            known = PAY_ERRORS.get(code) if isinstance(code, int) else None
            raise ProviderError("payment refused", code=known or f"http_{http_status}")
        return str(data.get("tx_reference", ""))

    def status(self, *, identifier: str) -> ProviderStatus:
        """``POST /api/v2/status``."""
        http_status, data = self._post("/api/v2/status", {"identifier": identifier})
        if http_status == 404:
            return ProviderStatus(status=RemoteStatus.NOT_FOUND)
        remote = STATUS_CODES.get(data.get("status", -1))
        if http_status != 200 or remote is None:
            raise ProviderUnavailable(f"unexpected status answer {http_status}", sent=True)
        return ProviderStatus(
            status=remote,
            amount_xof=self._amount(data.get("amount")),
            currency=str(data.get("currency", "XOF")),
            provider_reference=str(data.get("tx_reference", "")),
            payment_reference=str(data.get("payment_reference", "")),
            network=str(data.get("payment_method", "")),
        )

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackData:
        """Check the HMAC signature and its freshness; parse the identifier and the amount."""
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise CallbackInvalid("signature_missing") from None
        if not self.callback_secret:
            raise CallbackInvalid("secret_not_configured")
        if abs(time.time() - timestamp) > self.tolerance_seconds:
            raise CallbackInvalid("signature_expired")
        expected = sign(self.callback_secret, body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise CallbackInvalid("signature_invalid")
        try:
            data = json.loads(body)
        except ValueError:
            raise CallbackInvalid("body_invalid") from None
        if not isinstance(data, dict) or not isinstance(data.get("identifier"), str):
            raise CallbackInvalid("body_invalid")
        return CallbackData(
            identifier=data["identifier"][:64],
            provider_reference=str(data.get("tx_reference", ""))[:64],
            amount_xof=self._amount(data.get("amount")),
        )

    def disburse(
        self, *, identifier: str, amount_xof: int, phone: str, network: str, reason: str
    ) -> ProviderStatus:
        """``POST /api/v1/disburse`` (the aggregator answers the existing one for a known id)."""
        http_status, data = self._post(
            "/api/v1/disburse",
            {
                "identifier": identifier,
                "phone_number": phone,
                "amount": amount_xof,
                "network": NETWORK_CODES[network],
                "reason": reason,
            },
        )
        remote = DISBURSE_CODES.get(data.get("status", -1))
        if http_status != 200 or remote is None:
            raise ProviderError("disbursement refused", code=str(data.get("status", http_status)))
        return ProviderStatus(
            status=remote,
            amount_xof=self._amount(data.get("amount")),
            provider_reference=str(data.get("reference", "")),
        )

    def disbursement_status(self, *, identifier: str) -> ProviderStatus:
        """``POST /api/v1/disburse/status``."""
        http_status, data = self._post("/api/v1/disburse/status", {"identifier": identifier})
        if http_status == 404:
            return ProviderStatus(status=RemoteStatus.NOT_FOUND)
        remote = DISBURSE_CODES.get(data.get("status", -1))
        if http_status != 200 or remote is None:
            raise ProviderUnavailable(f"unexpected disbursement answer {http_status}", sent=True)
        return ProviderStatus(
            status=remote,
            amount_xof=self._amount(data.get("amount")),
            provider_reference=str(data.get("reference", "")),
        )
