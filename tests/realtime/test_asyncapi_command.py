"""``manage.py realtime_asyncapi`` writes the committed AsyncAPI document (stdout or --file)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command


def test_the_command_writes_the_committed_document(tmp_path: Path) -> None:
    committed = (Path(settings.BASE_DIR) / "asyncapi.yml").read_text(encoding="utf-8")
    out = StringIO()
    call_command("realtime_asyncapi", stdout=out)
    assert out.getvalue() == committed
    target = tmp_path / "asyncapi.yml"
    call_command("realtime_asyncapi", file=str(target))
    assert target.read_text(encoding="utf-8") == committed
