"""In a real browser, in French: an agency admin invites a civil servant from the console, the
invitee opens the link, chooses a password and signs in to the console."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail

from apps.accounts.models import Membership, Role, User
from tests.conftest import HOST_A

LINK_RE = re.compile(r"http://[^/\s]+(/admin/invitation/[A-Za-z0-9_-]+/)")
NEW_PASSWORD = "une-phrase-assez-longue"


def test_invitation_then_password_then_console_sign_in(
    page: Any, live_url: Any, console_login: Any, staff_of: Any, agency_a: Any
) -> None:
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    console_login(page, admin, HOST_A)

    page.goto(live_url(HOST_A, "/admin/accounts/invitation/add/"))
    page.fill("input[name=email]", "kodjo@example.tg")
    page.select_option("select[name=role]", "supervisor")
    with page.expect_navigation():
        page.click("input[name=_save]")

    assert "L'invitation a été envoyée." in page.inner_text("body")
    [message] = mail.outbox
    assert message.to == ["kodjo@example.tg"]
    assert "Vous êtes invité(e)" in message.body
    path = LINK_RE.search(message.body).group(1)

    # The invitee, in a browser of their own.
    invitee = page.context.browser.new_context(
        locale="fr-FR", extra_http_headers={"Accept-Language": "fr"}
    )
    tab = invitee.new_page()
    tab.goto(live_url(HOST_A, path))
    assert "Rejoindre le personnel de Agence A" in tab.inner_text("body")
    tab.fill("input[name=new_password1]", NEW_PASSWORD)
    tab.fill("input[name=new_password2]", "pas la même phrase")
    with tab.expect_navigation():
        tab.click("text=Enregistrer mon mot de passe")
    assert "Les deux mots de passe diffèrent." in tab.inner_text("body")
    tab.fill("input[name=new_password1]", NEW_PASSWORD)
    tab.fill("input[name=new_password2]", NEW_PASSWORD)
    with tab.expect_navigation():
        tab.click("text=Enregistrer mon mot de passe")

    assert tab.url.endswith("/admin/login/")
    assert "Votre mot de passe est enregistré. Connectez-vous avec kodjo@example.tg." in (
        tab.inner_text("body")
    )
    tab.fill("input[name=username]", "kodjo@example.tg")
    tab.fill("input[name=password]", NEW_PASSWORD)
    with tab.expect_navigation():
        tab.click("input[type=submit]")
    assert "/admin/login/" not in tab.url
    person = User.objects.get(email="kodjo@example.tg")
    assert Membership.objects.get(user=person, agency=agency_a).role == Role.SUPERVISOR
    # The link is spent.
    tab.goto(live_url(HOST_A, path))
    assert "invalide, expiré ou déjà utilisé" in tab.inner_text("body")
    invitee.close()


RESET_RE = re.compile(r"http://[^/\s]+(/admin/password_reset/[^/\s]+/[^/\s]+/)")


def test_forgotten_password_from_the_console_sign_in(
    page: Any, live_url: Any, staff_of: Any, agency_a: Any
) -> None:
    agent = staff_of(agency_a, Role.AGENT)
    page.goto(live_url(HOST_A, "/admin/login/"))

    with page.expect_navigation():
        page.click("div.password-reset-link a")
    page.fill("input[name=login]", agent.email)
    with page.expect_navigation():
        page.click("text=M'envoyer un lien")

    text = page.inner_text("body")
    assert "un lien pour choisir un nouveau mot de passe y a été envoyé" in text
    assert "permission" not in text
    path = RESET_RE.search(mail.outbox[0].body).group(1)
    page.goto(live_url(HOST_A, path))
    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert "/admin/password_reset/complete/" in page.url
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)
