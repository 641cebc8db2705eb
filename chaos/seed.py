"""Django-side steps of the fault-injection suite, run as subprocesses with the stack's settings.

``python -m chaos.seed prepare --out STATE.json --drafts N``: one agency (``chaos.localhost``),
a service without required documents, citizens with a phone and an e-mail address, an agent,
and ``N`` drafts waiting for the submit endpoint (each with its citizen's access token).

``python -m chaos.seed approve --count N``: N applications created, submitted, taken and
approved through the workflow's services (each approval queues a certificate job).

``python -m chaos.seed hotkeys-fill --out KEYS.txt`` / ``hotkeys-free --keys KEYS.txt``: fill
the hot-key store with filler keys until it refuses writes, and delete them again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chaos.settings")
django.setup()

from django.db import transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.accounts.models import Role, User  # noqa: E402
from apps.accounts.services import membership_grant  # noqa: E402
from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.agencies.models import Agency  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402
from apps.applications import services as workflow  # noqa: E402
from apps.applications.models import Application  # noqa: E402
from apps.catalogue.models import Service  # noqa: E402
from apps.core.context import set_context, system_context  # noqa: E402

SLUG = "chaos"
HOST = "chaos.localhost"
SERVICE = "attestation-chaos"
PASSWORD = "chaos-only-password-2026"  # noqa: S105 - throw-away stack


def agency() -> Agency:
    """The suite's agency (created once)."""
    existing = Agency.objects.filter(slug=SLUG).first()
    if existing is not None:
        return existing
    return agency_create(slug=SLUG, name_fr="Agence chaos", name_en="Chaos agency", domain=HOST)


def person(index: int) -> User:
    """Citizen ``index`` (phone and e-mail)."""
    email = f"citoyen-{index:04d}@chaos.localhost"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, phone=f"+2289700{index:04d}", first_name="Chaos", password=PASSWORD
        )
    return user


def service(schema: str) -> None:
    """The published service without required documents."""
    with schema_context(schema):
        Service.objects.get_or_create(
            code=SERVICE,
            defaults={
                "name_fr": "Attestation",
                "name_en": "Certificate",
                "category": "chaos",
                "form_schema": {
                    "type": "object",
                    "properties": {"nom": {"type": "string"}},
                    "additionalProperties": False,
                },
                "document_types": [],
                "fee_xof": 0,
                "sla_working_days": 5,
                "is_published": True,
            },
        )


def agent(home: Agency) -> User:
    """The agent who decides."""
    user = User.objects.filter(email="agent@chaos.localhost").first()
    if user is None:
        user = User.objects.create_user(email="agent@chaos.localhost", first_name="Agent")
        membership_grant(user=user, agency=home, role=Role.AGENT)
    return user


def prepare(out: Path, drafts: int, citizens: int) -> None:
    """Agency, service, people and drafts; the state file for the load generator."""
    home = agency()
    schema = home.schema_name
    service(schema)
    agent(home)
    people = [person(i) for i in range(citizens)]
    tokens = {str(p.pk): issue_user_tokens(user=p, kind=TokenKind.CITIZEN).access for p in people}
    rows = []
    with schema_context(schema):
        for index in range(drafts):
            citizen = people[index % len(people)]
            draft = workflow.application_create(
                citizen=citizen, service_code=SERVICE, form_data={"nom": "Chaos"}
            )
            rows.append({"id": str(draft.id), "token": tokens[str(citizen.pk)]})
    out.write_text(
        json.dumps(
            {
                "host": HOST,
                "schema": schema,
                "drafts": rows,
                "login": people[0].email,
                "password": PASSWORD,
                "list_token": tokens[str(people[0].pk)],
            }
        )
    )


def approve(count: int, citizens: int) -> None:
    """``count`` approved applications (each queues its certificate job at commit)."""
    home = agency()
    deciding = agent(home)
    people = [person(i) for i in range(citizens)]
    with schema_context(home.schema_name):
        for index in range(count):
            citizen = people[index % len(people)]
            with transaction.atomic():
                draft = workflow.application_create(
                    citizen=citizen, service_code=SERVICE, form_data={"nom": "Chaos"}
                )
            workflow.application_submit(application_id=draft.id, citizen=citizen)
            for action in ("take", "approve"):
                current = Application.objects.get(pk=draft.id)
                workflow.application_transition(
                    application_id=draft.id,
                    action=action,
                    actor=deciding,
                    role=Role.AGENT,
                    if_match=current.etag,
                )


def hotkeys_fill(out: Path) -> None:
    """Write filler keys until the store refuses a write; their names go to ``out``."""
    from apps.hotkeys.base import MAX_VALUE_BYTES
    from apps.hotkeys.keys import hot_key
    from apps.hotkeys.registry import get_store

    store = get_store()
    written: list[str] = []
    refused = ""
    index = 0
    # Big values first, then smaller ones, so that even a small write no longer fits.
    for size in (min(MAX_VALUE_BYTES, 64 * 1024), 4096, 256, 16):
        value = os.urandom(size)
        try:
            for _ in range(200_000):  # bounded
                store.set(hot_key("public", "chaos-filler", index), value, ttl=3600)
                written.append(str(index))
                index += 1
        except Exception as exc:
            refused = type(exc).__name__
    print(f"store refused writes after {len(written)} keys: {refused}")
    out.write_text("\n".join(written))


def hotkeys_free(keys: Path) -> None:
    """Delete the filler keys."""
    from apps.hotkeys.keys import hot_key
    from apps.hotkeys.registry import get_store

    store = get_store()
    for name in keys.read_text().splitlines():
        store.delete(hot_key("public", "chaos-filler", int(name)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    step = sub.add_parser("prepare")
    step.add_argument("--out", type=Path, required=True)
    step.add_argument("--drafts", type=int, default=300)
    step.add_argument("--citizens", type=int, default=20)
    step = sub.add_parser("approve")
    step.add_argument("--count", type=int, default=20)
    step.add_argument("--citizens", type=int, default=20)
    step = sub.add_parser("hotkeys-fill")
    step.add_argument("--out", type=Path, required=True)
    step = sub.add_parser("hotkeys-free")
    step.add_argument("--keys", type=Path, required=True)
    args = parser.parse_args(argv)
    set_context(system_context("chaos.seed"))
    if args.step == "prepare":
        prepare(args.out, args.drafts, args.citizens)
    elif args.step == "approve":
        approve(args.count, args.citizens)
    elif args.step == "hotkeys-fill":
        hotkeys_fill(args.out)
    else:
        hotkeys_free(args.keys)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
