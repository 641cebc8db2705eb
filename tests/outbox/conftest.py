"""Fixtures of the outbox tests: a recording publisher and a controllable handler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from apps.outbox import handlers as outbox_handlers
from apps.outbox import services as outbox_services


@dataclass
class Published:
    """Message ids handed to the (fake) broker, in order; ``fail_after`` simulates an outage.

    ``connections`` counts the publishers opened (one broker connection each).
    """

    ids: list[UUID] = field(default_factory=list)
    fail_after: int | None = None
    connections: int = 0


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """Replace the broker connection of the relay by a recorder."""
    record = Published()

    @contextmanager
    def publisher() -> Iterator[Any]:
        record.connections += 1

        def publish(message_id: UUID, request_id: str = "") -> None:
            if record.fail_after is not None and len(record.ids) >= record.fail_after:
                raise ConnectionRefusedError("broker down")
            record.ids.append(message_id)

        yield publish

    monkeypatch.setattr(outbox_services, "broker_publisher", publisher)
    return record


@dataclass
class FakeHandler:
    """A handler for the ``document`` kind that records calls and fails on demand."""

    calls: list[UUID] = field(default_factory=list)
    failures: int = 0  # fail this many times, then succeed
    permanent: bool = False
    on_failure_calls: int = 0

    def __call__(self, message: Any) -> None:
        self.calls.append(message.pk)
        if self.failures > 0:
            self.failures -= 1

            def remember() -> None:
                self.on_failure_calls += 1

            raise outbox_handlers.DeliveryError(
                "boom", permanent=self.permanent, on_failure=remember
            )


FAKE = FakeHandler()


def fake_handler(message: Any) -> None:
    """Dotted-path entry point of ``FAKE``."""
    FAKE(message)


@pytest.fixture
def fake_handler_kind(monkeypatch: pytest.MonkeyPatch) -> FakeHandler:
    """The ``document`` kind handled by a fresh ``FakeHandler``."""
    global FAKE
    FAKE = FakeHandler()
    monkeypatch.setitem(outbox_handlers.HANDLERS, "document", "tests.outbox.conftest.fake_handler")
    return FAKE


@pytest.fixture
def sms_dir(settings: Any, tmp_path: Path) -> Path:
    """SMS of the file backend go to this test's own directory."""
    directory = tmp_path / "sms"
    settings.SMS_FILE_DIR = directory
    settings.SMS_BACKEND = "apps.notifications.sms.FileSMSBackend"
    return directory
