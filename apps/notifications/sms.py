"""SMS gateways: one small interface, a file backend for development, an HTTP adapter.

``settings.SMS_BACKEND`` names the class (``get_sms_gateway()`` builds it). Gateways only run
inside Celery tasks (outbox deliveries), never in a request, so a slow or dead gateway delays
messages but never a citizen's click.

* ``FileSMSBackend`` appends one JSON line per message to ``SMS_FILE_DIR/sms.jsonl``.
* ``HTTPSMSBackend`` POSTs JSON to ``SMS_GATEWAY_URL`` with a bearer token, connect and read
  timeouts, and the outbox message id as the client ``reference`` and as ``Idempotency-Key``
  (gateways that honour it drop the duplicate of a retry). 5xx, 408, 429, timeouts and
  connection errors are temporary (retried); any other 4xx is permanent (the number or message
  was refused: retrying cannot help). A timeout after the request was sent leaves the attempt
  in doubt.

``was_sent(message_id)`` answers, after an interrupted attempt, whether the gateway has the
message: True, False, or None when it cannot tell. The file backend looks in its file; the HTTP
adapter asks ``SMS_GATEWAY_STATUS_URL`` (``{reference}`` replaced by the message id; 2xx: the
gateway has it, 404: it never got it) when the gateway offers such a query, and cannot tell
otherwise: such a message is then not sent twice but marked ``unknown`` for an operator (an SMS
cannot be taken back, and most gateways do not drop repeats).
"""

from __future__ import annotations

import fcntl
import json
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.outbox.http import HTTPDeliveryError, http_get, http_post


class SMSError(Exception):
    """The gateway did not take the message (``in_doubt``: it may have, a timeout)."""

    permanent = False
    in_doubt = False


class SMSRejected(SMSError):
    """The gateway refused the message for good (bad number, message refused)."""

    permanent = True


class SMSGateway(ABC):
    """Sends one text message."""

    @abstractmethod
    def send(self, *, to: str, body: str, message_id: str) -> None:
        """Hand ``body`` to the gateway for ``to`` (E.164), or raise ``SMSError``."""

    def was_sent(self, *, message_id: str) -> bool | None:
        """Whether the gateway took ``message_id`` (None: it cannot tell); ``SMSError`` when
        it cannot be asked now."""
        return None


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

    def was_sent(self, *, message_id: str) -> bool | None:
        if not self.path.exists():
            return False
        marker = json.dumps(message_id)
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if marker in line and json.loads(line).get("id") == message_id:
                    return True
        return False


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
            error = SMSError(str(exc))
            error.in_doubt = exc.timed_out  # it may have been taken before the answer was late
            raise error from exc
        if result.is_success:
            return
        if result.status >= 500 or result.status in (408, 429):
            raise SMSError(f"gateway answered {result.status}")
        raise SMSRejected(f"gateway refused the message ({result.status})")

    def was_sent(self, *, message_id: str) -> bool | None:
        template = settings.SMS_GATEWAY_STATUS_URL
        if not template:
            return None
        headers = {"User-Agent": "Guichet-SMS/1", "Accept": "application/json"}
        if settings.SMS_GATEWAY_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
        try:
            result = http_get(
                template.replace("{reference}", quote(message_id, safe="")),
                headers=headers,
                connect_timeout=float(settings.SMS_GATEWAY_CONNECT_TIMEOUT),
                read_timeout=float(settings.SMS_GATEWAY_READ_TIMEOUT),
            )
        except HTTPDeliveryError as exc:
            raise SMSError(f"status query: {exc}") from exc
        if result.is_success:
            return True
        if result.status == 404:
            return False
        raise SMSError(f"status query answered {result.status}")


def get_sms_gateway() -> SMSGateway:
    """The gateway ``settings.SMS_BACKEND`` names."""
    gateway_class = import_string(settings.SMS_BACKEND)
    gateway: SMSGateway = gateway_class()
    return gateway
