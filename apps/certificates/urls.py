"""Public HTML routes of certificates on agency hosts."""

from django.urls import path

from apps.certificates.views import verify_page

urlpatterns = [path("verify/<str:code>/", verify_page, name="certificate-verify-page")]
