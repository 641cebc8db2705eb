"""Bench data of the payments section: applications waiting for their fee, pending payments.

``python -m benches.harness.payments_seed --out STATE.json --initiations N --callbacks M`` with
the bench environment. Agency ``bench-pay`` collects fees online; every run bulk-inserts
``N`` new applications in ``awaiting_payment`` (one payment attempt each) and ``M`` more with a
pending payment whose callback the bench will send. The state file holds the host, one access
token per citizen, the application ids and the payment identifiers.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benches.harness.settings")
django.setup()

from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.applications.models import Application  # noqa: E402
from apps.applications.workflow import Status  # noqa: E402
from apps.catalogue.models import Service  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402
from apps.payments.models import Payment, PaymentPolicy  # noqa: E402
from benches.harness.seed import agency_ensure, person_ensure  # noqa: E402

SLUG, HOST = "bench-pay", "bench-pay.localhost"
FEE = 2000
CITIZENS = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--initiations", type=int, default=3000)
    parser.add_argument("--callbacks", type=int, default=2000)
    arguments = parser.parse_args()
    set_context(system_context("bench.payments_seed"))
    agency, _created = agency_ensure(SLUG, HOST)
    citizens = [
        person_ensure(f"payeur{index}@bench.tg", f"+2289{index:07d}") for index in range(CITIZENS)
    ]
    run = uuid.uuid4().hex[:6].upper()
    now = timezone.now()
    with schema_context(agency.schema_name):
        PaymentPolicy.objects.update_or_create(singleton=True, defaults={"collects_online": True})
        service = Service.objects.filter(code="bench-fee").first() or Service.objects.create(
            code="bench-fee",
            name_fr="Frais de bench",
            name_en="Bench fee",
            category="bench",
            form_schema={"type": "object", "properties": {"motif": {"type": "string"}}},
            document_types=[],
            fee_xof=FEE,
            sla_working_days=5,
            is_published=True,
        )
        total = arguments.initiations + arguments.callbacks
        applications = Application.objects.bulk_create(
            [
                Application(
                    service=service,
                    citizen=citizens[index % CITIZENS],
                    status=Status.AWAITING_PAYMENT,
                    reference=f"BP-{run}-{index:06d}",
                    submitted_at=now,
                    form_data={},
                )
                for index in range(total)
            ],
            batch_size=2000,
        )
        to_pay = applications[: arguments.initiations]
        with_callback = applications[arguments.initiations :]
        payments = Payment.objects.bulk_create(
            [
                Payment(
                    identifier=f"GCH-BENCH-{run}-{index:06d}",
                    application=application,
                    citizen_id=application.citizen_id,
                    provider="mobile_money",
                    network="tmoney",
                    phone=f"+22890{index:06d}",
                    amount_xof=FEE,
                    expires_at=now + timedelta(hours=2),
                    provider_reference=f"TXB{index:06d}",
                )
                for index, application in enumerate(with_callback)
            ],
            batch_size=2000,
        )
    tokens = {
        str(citizen.pk): issue_user_tokens(user=citizen, kind=TokenKind.CITIZEN).access
        for citizen in citizens
    }
    state = {
        "host": HOST,
        "fee": FEE,
        "tokens": tokens,
        "initiations": [[str(a.pk), str(a.citizen_id)] for a in to_pay],
        "callbacks": [[p.identifier, p.phone] for p in payments],
    }
    Path(arguments.out).write_text(json.dumps(state))
    print(json.dumps({"initiations": len(to_pay), "callbacks": len(payments)}))


if __name__ == "__main__":
    main()
