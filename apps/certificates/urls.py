"""Public HTML routes of certificates on agency hosts, and the agency's published keys."""

from django.urls import path

from apps.certificates.keys_views import certificate_keys
from apps.certificates.views import verify_page

urlpatterns = [
    path("verify/<str:code>/", verify_page, name="certificate-verify-page"),
    path(".well-known/certificate-keys.json", certificate_keys, name="certificate-keys"),
]
