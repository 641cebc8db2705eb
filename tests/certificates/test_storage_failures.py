"""A certificate whose PDF cannot be stored is not recorded, and leaves no file (real tmpfs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from apps.certificates.models import Certificate
from apps.certificates.services import certificate_issue
from apps.core.outages import StorageFullError, StorageUnavailableError
from tests.filesystems import tmpfs

pytestmark = pytest.mark.django_db


def test_a_full_store_raises_storage_full_and_records_nothing(approved, tmp_path, settings):
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        settings.MEDIA_ROOT = str(disk.path / "media")
        (disk.path / "media").mkdir()
        disk.fill()

        with schema_context("agence_a"), pytest.raises(StorageFullError):
            certificate_issue(application_id=approved.pk)

        with schema_context("agence_a"):
            assert not Certificate.objects.filter(application_id=approved.pk).exists()
        assert [p for p in (disk.path / "media").rglob("*") if p.is_file()] == []

        disk.free()
        with schema_context("agence_a"):
            issued = certificate_issue(application_id=approved.pk)
        assert issued is not None
        assert (disk.path / "media" / issued.file_path).stat().st_size > 0


def test_a_read_only_store_raises_storage_unavailable(approved: Any, tmp_path: Path, settings):
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        settings.MEDIA_ROOT = str(disk.path / "media")
        (disk.path / "media").mkdir()
        disk.read_only()

        with schema_context("agence_a"), pytest.raises(StorageUnavailableError):
            certificate_issue(application_id=approved.pk)

        with schema_context("agence_a"):
            assert not Certificate.objects.filter(application_id=approved.pk).exists()
        disk.writable()
