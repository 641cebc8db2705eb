"""Staff journeys in a real browser, in French: the second factor and partner credentials.

First sign-in → authenticator enrolment (QR code, secret read from the page) → recovery codes
shown once → sign-in with a code → sign-in with a recovery code → the same recovery code
refused; and a partner client created in the console with its secret shown once.
Set ``GUICHET_SCREENSHOTS`` to a directory to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from base64 import b32decode
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import check_password
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from apps.accounts.mfa.models import PasskeyDevice, RecoveryCode
from apps.accounts.models import PartnerClient, Role
from apps.audit.models import AuditEvent
from tests.conftest import HOST_A
from tests.factories import PASSWORD


def _code(secret: str, *, steps_ahead: int = 0) -> str:
    """What the person's authenticator app shows (``steps_ahead`` periods from now)."""
    generator = TOTP(b32decode(secret), step=30, t0=0, digits=6)
    generator.time = time.time() + 30 * steps_ahead
    return f"{generator.token():06d}"


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("GUICHET_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _assert_qr_holds(screenshot: Path, secret: str) -> None:
    """The QR code on the screenshot is the otpauth URI of ``secret`` (zbarimg, when the Debian
    package zbar-tools is installed: .ci/run installs it)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        warnings.warn("zbarimg is not installed: the QR code was not decoded", stacklevel=2)
        return
    scanned = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(screenshot)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert scanned.startswith("otpauth://totp/Guichet%3A"), scanned
    assert f"secret={secret}&" in scanned


def _submit(page: Any, selector: str = "input[type=submit]") -> None:
    """Click and wait for the next page to be loaded."""
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("load")


def _password_step(page: Any, live_url: Any, login: str) -> None:
    page.context.clear_cookies()
    page.goto(live_url(HOST_A, "/admin/"))
    assert "/admin/login/" in page.url  # nothing opens before signing in
    page.fill("#id_username", login)
    page.fill("#id_password", PASSWORD)
    _submit(page)


def test_first_sign_in_enrolment_code_and_recovery_codes(
    page: Any, live_url: Any, staff_of: Any, agency_a: Any, tmp_path: Path
) -> None:
    agent = staff_of(agency_a, Role.SUPERVISOR)

    # First sign-in: the password leads to the enrolment of an authenticator, in French.
    _password_step(page, live_url, agent.email)
    assert page.url.endswith("/admin/mfa/enrol/")
    assert "Configurez votre second facteur" in page.content()
    assert page.locator("#mfa-qr svg").count() == 1  # the QR code, drawn on the server
    shot = _screenshot(page, tmp_path, "enrolment.png")
    secret = page.inner_text("#mfa-secret").replace(" ", "")
    _assert_qr_holds(shot, secret)
    page.fill("#id_otp", "000000")
    _submit(page)
    assert "erroné" in page.inner_text(".errorlist")
    page.fill("#id_otp", _code(secret))
    _submit(page)

    # The ten recovery codes, this once; then the console.
    codes = [item.strip() for item in page.locator("#mfa-recovery-codes li").all_inner_texts()]
    assert len(codes) == 10
    assert "codes de secours" in page.content()
    _screenshot(page, tmp_path, "recovery-codes.png")
    _submit(page, "#mfa-continue")
    assert page.url.endswith("/admin/")
    assert "Déconnexion" in page.content() or "Se déconnecter" in page.content()

    # Sign-in with a code of the app (the next period's: each code signs in once).
    _password_step(page, live_url, agent.email)
    assert page.url.endswith("/admin/mfa/verify/")
    assert page.locator("#mfa-verify-form").count() == 1
    page.goto(live_url(HOST_A, "/admin/"))
    assert page.url.endswith("/admin/mfa/verify/")  # the password alone opened nothing
    page.fill("#id_otp", _code(secret, steps_ahead=1))
    _submit(page)
    assert page.url.endswith("/admin/")

    # Sign-in with a recovery code, then the same code refused.
    _password_step(page, live_url, agent.email)
    page.fill("#id_otp", codes[0])
    _submit(page)
    assert page.url.endswith("/admin/")
    assert "code de secours" in page.content()  # "9 codes de secours restants"
    _password_step(page, live_url, agent.email)
    page.fill("#id_otp", codes[0])
    _submit(page)
    assert page.url.endswith("/admin/mfa/verify/")
    assert "déjà utilisé" in page.inner_text(".errorlist")
    assert RecoveryCode.objects.filter(device__user=agent, used_at__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used").count() == 1


def test_a_partner_client_is_created_in_the_console_with_its_secret_shown_once(
    page: Any, live_url: Any, console_login: Any, staff_of: Any, agency_a: Any, tmp_path: Path
) -> None:
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    console_login(page, admin, HOST_A)

    page.goto(live_url(HOST_A, "/admin/accounts/partnerclient/add/"))
    page.fill("#id_name", "Banque Atlantique")
    page.check("input[name=scopes][value='catalogue:read']")
    _submit(page, "input[name=_save]")

    client_id = page.inner_text("#client-id").strip()
    secret = page.inner_text("#client-secret").strip()
    assert "une seule fois" in page.content() or "affiché" in page.content()
    _screenshot(page, tmp_path, "partner-secret.png")
    client = PartnerClient.objects.get(client_id=client_id)
    stored = client.secrets.get().secret_hash
    assert secret not in stored
    assert check_password(secret, stored)  # stored hashed
    # Shown once: the client's page and the list never show it again.
    page.goto(live_url(HOST_A, f"/admin/accounts/partnerclient/{client.pk}/change/"))
    assert secret not in page.content()
    page.goto(live_url(HOST_A, "/admin/accounts/partnerclient/"))
    assert client_id in page.content()
    assert secret not in page.content()
    # And the credentials work.
    token = APIClient(HTTP_HOST=HOST_A).post(
        "/api/v1/auth/partner-token/",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == "catalogue:read"


def test_a_passkey_is_added_then_replaces_the_code(
    page: Any, live_url: Any, console_login: Any, staff_of: Any, agency_a: Any, tmp_path: Path
) -> None:
    """Chromium's virtual authenticator (DevTools protocol) stands in for the screen lock."""
    agent = staff_of(agency_a)
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    console_login(page, agent, HOST_A)

    page.goto(live_url(HOST_A, "/admin/mfa/"))
    assert "Aucune clé d'accès" in page.content()
    _submit(page, "#mfa-passkey-add")
    assert page.url.endswith("/admin/mfa/")
    assert "Clé d'accès ajoutée le" in page.inner_text("#mfa-passkeys")
    _screenshot(page, tmp_path, "passkeys.png")
    assert PasskeyDevice.objects.filter(user=agent, rp_id=HOST_A).count() == 1
    assert AuditEvent.objects.filter(action="mfa.passkey_added", target_id=str(agent.pk)).exists()

    _password_step(page, live_url, agent.email)
    assert page.url.endswith("/admin/mfa/verify/")
    _submit(page, "#mfa-passkey")
    assert page.url.endswith("/admin/")
    assert PasskeyDevice.objects.get(user=agent).last_used_at is not None
