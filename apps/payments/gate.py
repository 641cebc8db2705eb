"""The payment gate of the workflow: is an application's fee still due?

Called by ``apps.applications.services.transitions`` for ``submit`` (see
``apps.applications.workflow``): when it says yes, the application waits in
``awaiting_payment`` instead of going to the agency.
"""

from __future__ import annotations

from typing import Any


def policy_collects_online() -> bool:
    """Whether the current agency collects fees online before review (its ``PaymentPolicy``)."""
    from apps.payments.models import PaymentPolicy

    return PaymentPolicy.objects.filter(collects_online=True).exists()


def fee_is_due(application: Any) -> bool:
    """The service has a fee, the agency collects it online, it is neither paid nor waived."""
    from apps.payments.models import FeeExemption, Payment, PaymentStatus

    if application.service.fee_xof <= 0 or not policy_collects_online():
        return False
    if FeeExemption.objects.filter(application_id=application.pk).exists():
        return False
    return not Payment.objects.filter(
        application_id=application.pk, status=PaymentStatus.SUCCEEDED
    ).exists()
