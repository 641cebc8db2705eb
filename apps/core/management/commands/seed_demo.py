"""``manage.py seed_demo``: demo agencies and accounts (idempotent).

Demo data only: never run it in production.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.mfa.demo import demo_totp_secret, seed_demo_second_factor
from apps.accounts.models import Role, User
from apps.accounts.services import membership_grant
from apps.agencies.models import Agency
from apps.agencies.services import agency_create, default_domain_for
from apps.applications.demo import seed_demo_applications
from apps.catalogue.demo import seed_demo_catalogue
from apps.core.context import set_context, system_context

DEMO_PASSWORD = "guichet-demo-2026"  # noqa: S105 - demo accounts only, printed by make run

DEMO_AGENCIES = [
    ("etat-civil", "Direction de l'état civil", "Civil Registry Office"),
    ("mairie-lome", "Mairie de Lomé", "Lomé City Hall"),
]
STAFF_ROLES = [
    ("agent", Role.AGENT, "Kossi", "Agent"),
    ("superviseur", Role.SUPERVISOR, "Ama", "Superviseure"),
    ("admin", Role.AGENCY_ADMIN, "Yao", "Administrateur"),
    ("auditeur", Role.AUDITOR, "Akossiwa", "Auditrice"),
]
CITIZENS = [
    ("afi.mensah@example.tg", "+22890112233", "Afi", "Mensah"),
    ("kodjo.agbeko@example.tg", "+22891445566", "Kodjo", "Agbeko"),
]
PLATFORM_ADMIN = "admin@guichet.localhost"


def _user(email: str, **fields: Any) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, **fields)
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


class Command(BaseCommand):
    help = "Create the demo agencies and accounts (idempotent). Demo data only."

    def handle(self, *args: Any, **options: Any) -> None:
        set_context(system_context("seed_demo"))
        lines: list[str] = []
        second_factor: list[User] = []
        with transaction.atomic():
            second_factor.append(
                _user(PLATFORM_ADMIN, first_name="Plateforme", is_staff=True, is_superuser=True)
            )
            lines.append(f"platform admin  {PLATFORM_ADMIN} (host localhost, portal=platform)")
            for slug, name_fr, name_en in DEMO_AGENCIES:
                agency = Agency.objects.filter(slug=slug).first() or agency_create(
                    slug=slug, name_fr=name_fr, name_en=name_en
                )
                host = default_domain_for(slug)
                for prefix, role, first, last in STAFF_ROLES:
                    email = f"{prefix}@{slug}.{settings.GUICHET_BASE_DOMAIN}"
                    user = _user(email, first_name=first, last_name=last)
                    membership_grant(user=user, agency=agency, role=role)
                    second_factor.append(user)
                    lines.append(f"{role:<13}  {email} (host {host}, portal=staff)")
            for email, phone, first, last in CITIZENS:
                _user(email, phone=phone, first_name=first, last_name=last)
                lines.append(f"citizen        {email} / {phone} (any host)")
            seed_demo_second_factor(second_factor)
        self.stdout.write("Demo accounts (demo only), password for all: " + DEMO_PASSWORD)
        for line in lines:
            self.stdout.write("  " + line)
        port = os.environ.get("GUICHET_PORT") or "8000"  # the port make run serves on
        self.stdout.write(
            f"Hosts: http://localhost:{port} (public), "
            + ", ".join(
                f"http://{default_domain_for(slug)}:{port}" for slug, _fr, _en in DEMO_AGENCIES
            )
        )
        self.stdout.write(
            "Staff and the platform admin also need a code of their authenticator (second "
            "factor, demo secret " + demo_totp_secret() + "): python manage.py totp_code "
            "<login> prints the current one."
        )
        self._seed_catalogue()
        self._seed_applications()

    def _seed_catalogue(self) -> None:
        """Two published services per demo agency and Togo's 2026 holidays (idempotent)."""
        lines = seed_demo_catalogue(
            agencies=Agency.objects.filter(slug__in=[slug for slug, _fr, _en in DEMO_AGENCIES])
        )
        self.stdout.write("Demo catalogue:")
        for line in lines:
            self.stdout.write("  " + line)

    def _seed_applications(self) -> None:
        """Demo applications in several states (after the services exist; idempotent)."""
        lines = seed_demo_applications(
            agencies=Agency.objects.filter(slug__in=[slug for slug, _fr, _en in DEMO_AGENCIES]),
            citizens=User.objects.filter(email__in=[email for email, *_rest in CITIZENS]),
        )
        self.stdout.write("Demo applications:")
        for line in lines:
            self.stdout.write("  " + line)
