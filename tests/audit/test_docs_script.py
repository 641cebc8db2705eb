"""The standalone verification script of docs/audit.md works on real exports."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django_tenants.utils import schema_context

from apps.audit.canonical import event_hash
from apps.audit.checkpoints import audit_checkpoint_create
from apps.audit.services import audit_record
from apps.audit.signing import schema_key
from tests.conftest import HOST_A

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
SCRIPT_RE = re.compile(
    r"<!-- verify-export-script:start -->\n```python\n(.*?)```\n<!-- verify-export-script:end -->",
    re.DOTALL,
)


def script_source() -> str:
    match = SCRIPT_RE.search(DOC.read_text(encoding="utf-8"))
    assert match, "the script block is missing from docs/audit.md"
    return match.group(1)


@pytest.fixture(scope="module")
def verify_export():
    namespace: dict = {"__name__": "verify_export_doc"}
    exec(compile(script_source(), str(DOC), "exec"), namespace)  # noqa: S102 (our own doc)
    return namespace["verify_export"]


@pytest.fixture
def exported(api, auditor_token, agency_a):
    """Lines of a real export of agency A (from 1, with a checkpoint and events after it)."""
    with schema_context("agence_a"):
        for index in range(5):
            audit_record(
                action="application.submitted",
                target_id=str(index),
                changes={"note": {"old": None, "new": "élève ✓"}},
            )
        audit_checkpoint_create(force=True)
        audit_record(action="after.checkpoint")

    def export(**params) -> list[str]:
        response = api(HOST_A, auditor_token(agency_a)).get("/api/v1/audit/export/", params)
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode("utf-8").splitlines()

    return export


def public_key() -> str:
    return schema_key("agence_a").public_base64


def test_a_real_export_verifies(verify_export, exported):
    ok, summary = verify_export(exported(), public_key())

    assert ok, summary
    assert "signed on" in summary


def test_a_range_verifies_and_says_when_nothing_is_signed(verify_export, exported):
    lines = exported()
    checkpoint = json.loads(lines[-1])["checkpoint"]

    ok, summary = verify_export(
        exported(from_sequence=2, to_sequence=checkpoint["sequence"]), public_key()
    )
    after_ok, after = verify_export(
        exported(from_sequence=checkpoint["sequence"] + 1), public_key()
    )

    assert ok, summary
    assert after_ok, after
    assert "no signed checkpoint" in after


def _tamper(lines: list[str], index: int, **changes) -> list[str]:
    event = json.loads(lines[index])
    event.update(changes)
    return [*lines[:index], json.dumps(event, ensure_ascii=False), *lines[index + 1 :]]


def _rewrite_from(lines: list[str], index: int) -> list[str]:
    """Change event ``index`` and re-link and re-hash everything after it, as an attacker would."""
    events = [json.loads(line) for line in lines[:-1]]
    events[index]["action"] = "forged"
    for position in range(index, len(events)):
        if position > index:
            events[position]["prev_hash"] = events[position - 1]["hash"]
        body = {k: v for k, v in events[position].items() if k != "hash"}
        events[position]["hash"] = event_hash(body)
    return [json.dumps(e, ensure_ascii=False) for e in events] + [lines[-1]]


def test_tampered_exports_fail(verify_export, exported):
    lines = exported()
    trailer = json.loads(lines[-1])
    last_signed = trailer["checkpoint"]["sequence"]
    other_key = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    forged_checkpoint = {**trailer, "checkpoint": {**trailer["checkpoint"], "sequence": 1}}

    cases = {
        "changed": _tamper(lines, 2, action="forged"),
        "rewritten and re-hashed": _rewrite_from(lines, 2),
        "deleted": [*lines[:1], *lines[2:]],
        "swapped": [lines[1], lines[0], *lines[2:]],
        "truncated": [*lines[: last_signed - 2], lines[-1]],
        "other agency key": lines,
        "forged checkpoint": [*lines[:-1], json.dumps(forged_checkpoint)],
        "empty": [],
    }
    for name, tampered in cases.items():
        key = other_key if name == "other agency key" else public_key()
        ok, summary = verify_export(tampered, key)
        assert not ok, name
        if name == "rewritten and re-hashed":
            assert "differs from the signed checkpoint" in summary


def test_the_script_runs_from_the_command_line(exported, tmp_path):
    script = tmp_path / "verify_export.py"
    script.write_text(script_source(), encoding="utf-8")
    export = tmp_path / "audit.jsonl"
    export.write_text("\n".join(exported()) + "\n", encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(_tamper(exported(), 0, action="x")) + "\n", encoding="utf-8")

    good = subprocess.run(
        [sys.executable, str(script), str(export), public_key()], capture_output=True, text=True
    )
    bad = subprocess.run(
        [sys.executable, str(script), str(broken), public_key()], capture_output=True, text=True
    )

    assert (good.returncode, good.stdout.split(":")[0]) == (0, "OK")
    assert (bad.returncode, bad.stdout.split(":")[0]) == (1, "FAILED")
