"""Prometheus counters of payments (exposed at ``/metrics`` with the others)."""

from __future__ import annotations

from prometheus_client import Counter

PAYMENTS_STARTED = Counter(
    "guichet_payments_started_total", "Payment attempts started", ["network"]
)
PAYMENTS_FINAL = Counter(
    "guichet_payments_final_total", "Payment attempts that reached a final status", ["status"]
)
PAYMENTS_REFUSED = Counter(
    "guichet_payments_refused_total",
    "Refused payment requests and callbacks (bad input, forged callbacks), by reason",
    ["reason"],
)
PROVIDER_UNKNOWN = Counter(
    "guichet_payments_provider_unknown_total",
    "Provider calls whose outcome was lost (timeout, 5xx), resolved by a status check",
    ["operation"],
)
REFUNDS_FINAL = Counter(
    "guichet_payments_refunds_final_total", "Refunds that reached a final status", ["status"]
)
