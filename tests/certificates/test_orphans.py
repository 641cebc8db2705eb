"""A document job killed between writing the PDF and committing its row leaves no orphan: the
retry replaces the file (one name per application), and the sweep deletes files that no
certificate names and that are older than the grace period (audited)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.certificates import services
from apps.certificates.models import Certificate
from apps.certificates.services import certificate_issue, certificate_orphans_sweep
from apps.certificates.tasks import certificates_sweep_orphans, certificates_sweep_orphans_all

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands for SIGKILL: nothing of the job's own clean-up runs (not an Exception)."""


def _files(media_root) -> list[str]:
    folder = media_root / "agence_a" / "certificates"
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(media_root)) for p in folder.rglob("*") if p.is_file())


def test_a_job_killed_after_writing_the_file_leaves_no_orphan_once_retried(
    approved, media_root, monkeypatch
):
    def killed(**kwargs):
        raise Killed

    with schema_context("agence_a"):
        monkeypatch.setattr(services, "audit_record", killed)
        with pytest.raises(Killed):
            certificate_issue(application_id=approved.pk)
        assert not Certificate.objects.exists()
        assert len(_files(media_root)) == 1  # the file written before the "kill"
        monkeypatch.undo()

        certificate = certificate_issue(application_id=approved.pk)

    assert _files(media_root) == [certificate.file_path]  # replaced, not doubled
    assert certificate.file_path == f"agence_a/certificates/{approved.pk}.pdf"


def test_a_second_job_waiting_for_the_lock_returns_the_committed_certificate(approved):
    with schema_context("agence_a"):
        first = certificate_issue(application_id=approved.pk)
        calls = []
        real_filter = Certificate.objects.filter

        def first_check_misses(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:  # as if it had looked before the first job committed
                return Certificate.objects.none()
            return real_filter(*args, **kwargs)

        Certificate.objects.filter = first_check_misses
        try:
            second = certificate_issue(application_id=approved.pk)
        finally:
            del Certificate.objects.filter
    assert second == first


def _orphan(media_root, name: str, age_seconds: float) -> None:
    path = media_root / "agence_a" / "certificates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-orphan")
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))


def test_the_sweep_deletes_old_orphans_only_and_audits_each(certificate, media_root):
    _orphan(media_root, "2025/old.pdf", 7200)  # the layout before one name per application
    _orphan(media_root, "young.pdf", 10)

    with schema_context("agence_a"):
        dry = certificate_orphans_sweep(older_than=timedelta(hours=1), dry_run=True)
        assert dry == ["agence_a/certificates/2025/old.pdf"]
        assert len(_files(media_root)) == 3
        deleted = certificate_orphans_sweep(older_than=timedelta(hours=1))
        audited = AuditEvent.objects.filter(action="certificate.orphan_deleted").first()

    assert deleted == ["agence_a/certificates/2025/old.pdf"]
    assert sorted(_files(media_root)) == sorted(
        [certificate.file_path, "agence_a/certificates/young.pdf"]
    )
    assert audited is not None
    assert audited.target_id == "agence_a/certificates/2025/old.pdf"


def test_the_sweep_of_an_agency_without_files_finds_nothing(agency_a):
    with schema_context("agence_a"):
        assert certificate_orphans_sweep(older_than=timedelta(0)) == []


def test_the_command_and_the_tasks_sweep_every_agency(certificate, media_root, monkeypatch):
    _orphan(media_root, "old.pdf", 7200)
    out = StringIO()
    call_command("certificates_sweep_orphans", "--dry-run", stdout=out)
    assert "agence_a: would delete 1 orphan file(s)" in out.getvalue()
    assert (media_root / "agence_a" / "certificates" / "old.pdf").exists()

    queued: list[str] = []
    from django.db import connection

    monkeypatch.setattr(
        certificates_sweep_orphans, "delay", lambda: queued.append(connection.schema_name)
    )
    assert "agence_a" in certificates_sweep_orphans_all()
    assert "agence_a" in queued
    with schema_context("agence_a"):
        assert certificates_sweep_orphans() == 1

    out = StringIO()
    call_command("certificates_sweep_orphans", "--grace-seconds", "0", stdout=out)
    assert "agence_a: deleted 0 orphan file(s)" in out.getvalue()
    assert _files(media_root) == [certificate.file_path]


def test_beat_runs_the_sweep(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["certificates-sweep-orphans"]
    assert entry["task"] == certificates_sweep_orphans_all.name
