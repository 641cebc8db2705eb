"""Second-factor devices stay out of the generic admin pages.

django-otp registers a TOTP device admin that shows secrets and lets a superuser edit them;
here devices change only through the services (enrolment, audited reset:
``apps.accounts.mfa.console``)."""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
