"""``manage.py payments_demo``: every active agency collects fees online (demo only, idempotent).

Run by ``make run`` after ``seed_demo``: the demo's fee-charging services then wait for a
mobile-money payment through the aggregator simulator. Also adds an exemption category.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from apps.agencies.selectors import agency_list
from apps.core.context import set_context, system_context
from apps.payments.models import ExemptionCategory, PaymentPolicy
from apps.payments.services import policy_update


class Command(BaseCommand):
    help = "Demo: agencies collect fees online through the aggregator (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("payments_demo"))
        for schema in agency_list(include_inactive=False).values_list("schema_name", flat=True):
            with schema_context(schema):
                if not PaymentPolicy.objects.exists():
                    policy_update(changes={"collects_online": True})
                ExemptionCategory.objects.get_or_create(
                    code="indigence",
                    defaults={
                        "label_fr": "Certificat d'indigence",
                        "label_en": "Certificate of indigence",
                    },
                )
        self.stdout.write("Demo agencies collect fees online (aggregator simulator).")
