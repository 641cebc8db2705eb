"""Public HTML routes of payments on agency hosts."""

from django.urls import path

from apps.payments.views import receipt_download

urlpatterns = [
    path("payments/receipts/<str:token>/", receipt_download, name="payment-receipt-link")
]
