"""The Prometheus alert rules and the Grafana dashboard committed under deploy/.

``promtool`` (Debian's ``prometheus`` package, installed by .ci/run) checks the rules and runs
their unit tests; without it those two tests are skipped with the reason. Independently of
it, every metric the rules and the dashboard use must be one /metrics exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.core import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "guichet.json"
METRIC = re.compile(r"\bguichet_[a-z_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    return path


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULE_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _exported(content: bytes) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(content.decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


@pytest.mark.django_db
def test_the_rules_and_the_dashboard_use_only_metrics_that_metrics_exports(api) -> None:
    api().get("/healthz")  # at least one request counted
    exported = _exported(metrics.render()[0])  # what /metrics answers
    used = set(METRIC.findall(RULES.read_text()))
    for expression in _dashboard_expressions():
        used.update(METRIC.findall(expression))

    def known(name: str) -> bool:
        if name in exported:
            return True
        # Counters are exported as <name>_total; histograms as _bucket/_count/_sum, and a
        # family with no observation yet still names its base.
        return any(
            name.endswith(suffix) and name.removesuffix(suffix) in exported for suffix in SUFFIXES
        )

    assert used, "no metric found in the rules and the dashboard"
    assert sorted(name for name in used if not known(name)) == []
    assert {
        "guichet_applications_overdue",
        "guichet_outbox_oldest_pending_seconds",
        "guichet_certificate_jobs_waiting",
    } <= used
