"""`make venv` (scripts/make_venv.py) prints progress while it installs, not minutes of silence."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "venv_progress", ROOT / "scripts" / "make_venv.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


venv_progress = _load()


def test_pins_are_counted_through_included_files(tmp_path):
    (tmp_path / "base.txt").write_text("# comment\ndjango==5.2.8\n    # via x\ncelery==5.5.3\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\npytest==8.4.2\n")

    assert venv_progress.pinned_count(tmp_path / "dev.txt") == 3


def test_pip_chatter_becomes_one_numbered_line_per_package():
    pip_output = [
        "Collecting django==5.2.8 (from -r requirements.txt (line 3))\n",
        "  Using cached django-5.2.8-py3-none-any.whl (8.3 MB)\n",
        "Collecting celery==5.5.3\n",
        "  Downloading celery-5.5.3-py3-none-any.whl (438 kB)\n",
        "Processing /opt/wheels/attrs-26.1.0-py3-none-any.whl (from -r requirements.txt)\n",
        "WARNING: something pip wants you to read\n",
        "WARNING: Location 'file:///x/a/' is ignored\n",
        "WARNING: Location 'file:///x/b/' is ignored\n",
        "Installing collected packages: django, celery, attrs\n",
        "Successfully installed celery-5.5.3 django-5.2.8\n",
    ]

    lines = list(venv_progress.condense(pip_output, total=3))

    assert lines == [
        "[venv] 1/3 django==5.2.8",
        "[venv] 2/3 celery==5.5.3",
        "[venv] 3/3 attrs==26.1.0",
        "WARNING: something pip wants you to read",
        "WARNING: Location 'file:///x/a/' is ignored",
        "[venv] installing 3 packages (a line every 10 s)",
        "Successfully installed celery-5.5.3 django-5.2.8",
        "[venv] 1 repeated warnings not shown",
    ]


def test_a_slow_silent_install_prints_a_line_at_each_tick(tmp_path, monkeypatch, capsys):
    # A stand-in for the virtualenv's python: pip's first line, then a silent install that
    # puts packages into site-packages, then pip's exit code.
    venv_dir = tmp_path / "venv"
    site = venv_dir / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    python = venv_dir / "bin" / "python"
    python.parent.mkdir()
    python.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys, time\n"
        "print('Collecting django==5.2.8', flush=True)\n"
        "print('Installing collected packages: django', flush=True)\n"
        f"site = pathlib.Path({str(site)!r})\n"
        "for n in range(3):\n"
        "    time.sleep(0.3)\n"
        "    (site / f'p{n}-1.0.dist-info').mkdir()\n"
        "sys.exit(3)\n"
    )
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("django==5.2.8\n")
    monkeypatch.setattr(venv_progress, "TICK_SECONDS", 0.2)

    status = venv_progress.install(venv_dir, requirements)

    out = capsys.readouterr().out
    assert status == 3  # pip's exit code is make's
    assert "[venv] installing 1 pinned packages" in out
    assert "[venv] 1/1 django==5.2.8" in out
    ticks = [line for line in out.splitlines() if " packages in " in line]
    assert len(ticks) >= 2, out
    assert "done in" not in out  # a failed install does not claim success


def test_the_makefile_installs_through_the_progress_script():
    recipe = (ROOT / "Makefile").read_text().split("$(STAMP): requirements.txt")[1].split("\n\n")[0]

    assert "scripts/make_venv.py $(VENV) requirements-dev.txt" in recipe
    assert "--quiet" not in recipe
