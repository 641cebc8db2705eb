"""SMS gateways: one small interface, a file backend for development, an HTTP adapter.

``settings.SMS_BACKEND`` names the class (``get_sms_gateway()`` builds it). Gateways only run
inside Celery tasks (outbox deliveries), never in a request, so a slow or dead gateway delays
messages but never a citizen's click.

* ``FileSMSBackend`` appends one JSON line per message to ``SMS_FILE_DIR/sms.jsonl``.
* ``HTTPSMSBackend`` POSTs JSON to ``SMS_GATEWAY_URL`` with a bearer token, connect and read
  timeouts, and the outbox message id as ``Idempotency-Key`` (gateways that honour it drop the
  duplicate of a retry after an ambiguous timeout). 5xx, 408, 429, timeouts and connection
  errors are temporary (retried); any other 4xx is permanent (the number or message was
  refused: retrying cannot help).
"""

from __future__ import annotations

import fcntl
import json
from abc import ABC, abstractmethod
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.outbox.http import HTTPDeliveryError, http_post


class SMSError(Exception):
    """The gateway did not take the message."""

    permanent = False


class SMSRejected(SMSError):
    """The gateway refused the message for good (bad number, message refused)."""

    permanent = True


class SMSGateway(ABC):
    """Sends one text message."""

    @abstractmethod
    def send(self, *, to: str, body: str, message_id: str) -> None:
        """Hand ``body`` to the gateway for ``to`` (E.164), or raise ``SMSError``."""


class FileSMSBackend(SMSGateway):
    """Development gateway: every message is a JSON line in ``SMS_FILE_DIR/sms.jsonl``."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_FILE_DIR)

    @property
    def path(self) -> Path:
        """The file messages are appended to."""
        return self.directory / "sms.jsonl"

    def send(self, *, to: str, body: str, message_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"id": message_id, "to": to, "body": body, "at": timezone.now().isoformat()},
            ensure_ascii=False,
        )
        with self.path.open("a", encoding="utf-8") as handle:
            # Several worker processes append to the same file.
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line + "\n")
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class HTTPSMSBackend(SMSGateway):
    """Production gateway: ``POST SMS_GATEWAY_URL`` with a JSON body, bounded in time."""

    def send(self, *, to: str, body: str, message_id: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url:
            raise SMSRejected("SMS_GATEWAY_URL is not set")
        payload = json.dumps(
            {"to": to, "body": body, "sender": settings.SMS_SENDER_ID, "reference": message_id},
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message_id,
            "User-Agent": "Guichet-SMS/1",
        }
        if settings.SMS_GATEWAY_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
        try:
            result = http_post(
                url,
                body=payload,
                headers=headers,
                connect_timeout=float(settings.SMS_GATEWAY_CONNECT_TIMEOUT),
                read_timeout=float(settings.SMS_GATEWAY_READ_TIMEOUT),
            )
        except HTTPDeliveryError as exc:
            raise SMSError(str(exc)) from exc
        if result.is_success:
            return
        if result.status >= 500 or result.status in (408, 429):
            raise SMSError(f"gateway answered {result.status}")
        raise SMSRejected(f"gateway refused the message ({result.status})")


def get_sms_gateway() -> SMSGateway:
    """The gateway ``settings.SMS_BACKEND`` names."""
    gateway_class = import_string(settings.SMS_BACKEND)
    gateway: SMSGateway = gateway_class()
    return gateway
