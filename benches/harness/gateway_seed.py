"""Seed of the gateway bench: citizens and agents with access tokens (JSON on stdout).

``python -m benches.harness.gateway_seed --citizens 200 --staff 20`` (bench environment).
Uses the first active agency, or creates ``temps-reel`` when there is none (a gateway-only
run on a fresh bench database). People are created once and reused by later runs.
"""

from __future__ import annotations

import argparse
import json

import django

django.setup()

from apps.accounts.models import Role, User  # noqa: E402
from apps.accounts.services import membership_grant  # noqa: E402
from apps.accounts.tokens import TokenKind, issue_user_tokens  # noqa: E402
from apps.agencies.selectors import agency_list  # noqa: E402
from apps.agencies.services import agency_create  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--staff", type=int, default=20)
    args = parser.parse_args()
    agency = agency_list(include_inactive=False).first()
    if agency is None:
        agency = agency_create(
            slug="temps-reel",
            name_fr="Temps réel",
            name_en="Real time",
            domain="temps-reel.localhost",
        )
    citizens = []
    for index in range(args.citizens):
        user, _ = User.objects.get_or_create(email=f"gw-citizen-{index}@bench.example.tg")
        citizens.append(
            {
                "id": str(user.pk),
                "token": issue_user_tokens(user=user, kind=TokenKind.CITIZEN).access,
            }
        )
    staff = []
    for index in range(args.staff):
        user, created = User.objects.get_or_create(email=f"gw-agent-{index}@bench.example.tg")
        if created:
            membership_grant(user=user, agency=agency, role=Role.AGENT)
        staff.append(
            issue_user_tokens(
                user=user, kind=TokenKind.STAFF, agency=agency.schema_name, role=Role.AGENT
            ).access
        )
    domain = agency.domains.filter(is_primary=True).first() or agency.domains.first()
    print(
        json.dumps(
            {
                "schema": agency.schema_name,
                "host": domain.domain if domain else "",
                "citizens": citizens,
                "staff": staff,
            }
        )
    )


if __name__ == "__main__":
    main()
