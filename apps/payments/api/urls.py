"""Payment routes on agency hosts (mounted under ``/api/v1/``)."""

from django.urls import path

from apps.payments.api.views import (
    CitizenPaymentViewSet,
    PaymentCallbackViewSet,
    StaffPaymentViewSet,
)

citizen = CitizenPaymentViewSet.as_view
staff = StaffPaymentViewSet.as_view

urlpatterns = [
    path(
        "applications/<uuid:pk>/payments/",
        citizen({"post": "start"}),
        name="application-payments",
    ),
    path(
        "payments/callback/",
        PaymentCallbackViewSet.as_view({"post": "callback"}),
        name="payments-callback",
    ),
    path("payments/", citizen({"get": "list"}), name="payments"),
    path("payments/<uuid:pk>/", citizen({"get": "retrieve"}), name="payment"),
    path("payments/<uuid:pk>/receipt/", citizen({"get": "receipt"}), name="payment-receipt"),
    path(
        "staff/applications/<uuid:pk>/payments/",
        staff({"get": "list"}),
        name="staff-application-payments",
    ),
    path(
        "staff/applications/<uuid:pk>/fee-exemption/",
        staff({"post": "exempt"}),
        name="staff-application-fee-exemption",
    ),
]
