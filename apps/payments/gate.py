"""The payment gate of the workflow: is an application's fee due at submission?

Called by ``apps.applications.services.transitions`` for ``submit`` (the one transition with
``target_when_fee_due``, see ``apps.applications.workflow``): when it says yes, the application
waits in ``awaiting_payment`` instead of going to the agency. A draft has neither payments nor
exemptions yet, so the service's fee and the agency's policy decide: no query at all for a free
service, one for a fee-charging one.
"""

from __future__ import annotations

from typing import Any


def policy_collects_online() -> bool:
    """Whether the current agency collects fees online before review (its ``PaymentPolicy``)."""
    from apps.payments.models import PaymentPolicy

    return PaymentPolicy.objects.filter(collects_online=True).exists()


def fee_is_due(application: Any) -> bool:
    """The service has a fee and the agency collects it online."""
    return application.service.fee_xof > 0 and policy_collects_online()
