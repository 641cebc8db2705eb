"""The image builds without a runtime secret: every build step of the Dockerfile, executed here.

No Docker engine runs on this machine, so the final stage of the Dockerfile is interpreted: its
ENV, ARG and WORKDIR are applied in order, ``COPY . .`` copies the repository minus what
.dockerignore excludes into a temporary directory standing for ``/app``, and each RUN is
executed with ``sh -c`` in an environment holding only what the Dockerfile sets plus what the
``python:3.11-slim`` base image sets (PATH, LANG; the virtualenv's ``bin`` stands for the
image's ``/usr/local/bin``). Any secret a step needed would be missing, and the step would fail.

Four kinds of RUN are not executed, and why:

* ``apt-get``: needs root and a package mirror. It installs ``gettext`` only; the test requires
  ``msgfmt`` on this machine instead (the README lists gettext as a requirement).
* ``pip install -r requirements.txt``: needs the package index. The test checks instead that the
  interpreter running the other steps has every pin of requirements.txt at its exact version.
* ``groupadd`` / ``useradd`` and ``chown``: would change this machine's users and file owners.

A RUN mixing one of these with other commands fails the test, so nothing hides behind them.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest

from tests.core.test_deploy import production_secrets

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# What python:3.11-slim sets (its PATH puts /usr/local/bin, where its python is, first).
BASE_IMAGE_ENV = {"LANG": "C.UTF-8"}
SECRETS = (
    "DJANGO_SECRET_KEY",
    "KEYRING_ENCRYPTION_KEY",
    "AUDIT_SIGNING_KEY",
    "WEBHOOK_SECRET_KEY",
    "CERTIFICATE_SIGNING_KEY",
    "OTP_SECRET_KEY",
    "DATABASE_URL",
)
# First word of a command -> why its RUN is not executed here.
NOT_EXECUTED = {
    "apt-get": "system packages: needs root and a package mirror (msgfmt is checked instead)",
    "pip": "needs the package index (the running interpreter's pins are checked instead)",
    "groupadd": "would add a user to this machine",
    "useradd": "would add a user to this machine",
    "chown": "would change owners of files on this machine (the user does not exist here)",
}
# Commands allowed in the same RUN as one of the above (cleaning apt's lists).
COMPANIONS = {"rm"}


@dataclass
class Stage:
    """The final stage of the Dockerfile, as instructions in order."""

    instructions: list[tuple[str, str]] = field(default_factory=list)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def final_stage(text: str) -> Stage:
    """The instructions of the last ``FROM`` of ``text``."""
    stage = Stage()
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = Stage()
        stage.instructions.append((keyword, rest.strip()))
    return stage


def _assignments(rest: str) -> dict[str, str]:
    """``ENV a=1 b="2"`` or the legacy ``ENV a 1`` form."""
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def _commands(script: str) -> list[list[str]]:
    """The simple commands of a RUN's shell script, split on ``&&``, ``||`` and ``;``."""
    return [shlex.split(part) for part in re.split(r"&&|\|\||;", script) if part.strip()]


def _first_word(command: list[str]) -> str:
    words = [word for word in command if not re.match(r"^[A-Z_][A-Z0-9_]*=", word)]
    return words[0] if words else ""


def _not_executed_reason(script: str) -> str | None:
    """Why this RUN is skipped, or None to run it; fails on a RUN mixing kinds of command."""
    firsts = [_first_word(command) for command in _commands(script)]
    skipped = [word for word in firsts if word in NOT_EXECUTED]
    if not skipped:
        return None
    others = [word for word in firsts if word not in NOT_EXECUTED and word not in COMPANIONS]
    assert not others, f"split this RUN: {others} would hide behind {skipped}: {script}"
    return NOT_EXECUTED[skipped[0]]


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(parts[depth - 1], bare)
            ):
                return True
    return False


def _build_context(target: Path) -> None:
    """``COPY . .``: the committed and new files of the checkout, minus .dockerignore's."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    patterns = _dockerignore_patterns()
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if _ignored(relative, patterns) or not source.is_file():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def _check_pins_installed() -> None:
    """The interpreter standing in for the image has exactly requirements.txt's pins."""
    wrong = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if not match:
            continue
        name, version = match.groups()
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            wrong.append(f"{name}: pinned {version}, installed {installed}")
    assert not wrong, "run `make venv`: " + "; ".join(wrong)


@pytest.mark.slow
def test_every_build_step_of_the_dockerfile_runs_without_a_secret(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    stage = final_stage(DOCKERFILE.read_text())
    env: dict[str, str] = {
        **BASE_IMAGE_ENV,
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
    }
    executed: list[str] = []
    skipped: list[tuple[str, str]] = []

    def mapped(value: str) -> str:
        return re.sub(r"(?<![\w/])/app(?=/|\b)", str(app), value)

    for keyword, rest in stage.instructions:
        if keyword in ("ENV", "ARG"):
            for name, value in _assignments(rest).items():
                if keyword == "ENV" or value:
                    env[name] = mapped(value)
        elif keyword == "WORKDIR":
            assert mapped(rest) == str(app), "the test maps /app only"
        elif keyword == "COPY" and rest.split()[:2] == [".", "."]:
            _build_context(app)
        elif keyword == "COPY" and not rest.startswith("--from"):
            source, _destination = rest.split()
            shutil.copy2(ROOT / source, app / source)
        elif keyword == "RUN":
            assert not rest.startswith("["), "exec-form RUN: give it the shell form"
            reason = _not_executed_reason(rest)
            if reason is not None:
                skipped.append((rest.split()[0], reason))
                continue
            inline = {word.split("=")[0] for command in _commands(rest) for word in command}
            leaked = sorted(name for name in SECRETS if name in env or name in inline)
            assert not leaked, f"the Dockerfile sets secrets at build time: {leaked}"
            result = subprocess.run(
                ["sh", "-c", mapped(rest)],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f"RUN {rest}\n{result.stdout}\n{result.stderr}"
            executed.append(rest)

    assert shutil.which("msgfmt"), "gettext's msgfmt (installed by the image's apt-get step)"
    _check_pins_installed()
    print("not executed:", json.dumps(skipped, indent=1))
    assert any("collectstatic" in step for step in executed)
    assert {kind for kind, _reason in skipped} <= {"apt-get", "pip", "groupadd", "chown"}
    # What the build produced: hashed, compressed static files and compiled catalogues.
    static_root = Path(env["STATIC_ROOT"])
    assert static_root.is_relative_to(app)
    assert (static_root / "admin" / "css" / "base.css").is_file()
    assert (static_root / "admin" / "css" / "base.css.gz").is_file()
    catalogues = list(app.rglob("locale/*/LC_MESSAGES/*.po"))
    assert catalogues
    assert all(po.with_suffix(".mo").is_file() for po in catalogues)
    assert (app / "var" / "hotkeys").is_dir()
    # At run time the image's settings are production's, which need their secrets.
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_build_settings_collect_the_static_files_production_serves():
    script = (
        "import importlib, json, sys; m = importlib.import_module(sys.argv[1]); "
        "values = {k: str(getattr(m, k)) for k in "
        "('STATIC_URL', 'STATIC_ROOT', 'WHITENOISE_USE_FINDERS', 'INSTALLED_APPS')}; "
        "values['staticfiles'] = str(m.STORAGES['staticfiles']); print(json.dumps(values))"
    )
    # Proper values: production refuses weak or repeated keys (config/settings/key_checks.py).
    secrets = production_secrets()
    base_env = {
        "PATH": os.environ["PATH"],
        "STATIC_ROOT": "/app/staticfiles",
        "DJANGO_ALLOWED_HOSTS": "guichet.example",
    }

    def settings_of(module: str, extra: dict[str, str]) -> dict[str, str]:
        result = subprocess.run(
            [sys.executable, "-c", script, module],
            cwd=ROOT,
            env={**base_env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return dict(json.loads(result.stdout))

    build = settings_of("config.settings.build", {})
    production = settings_of("config.settings.production", secrets)

    assert build == production


def test_build_settings_serve_nothing():
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.build'; "
        "django.setup(); from django.conf import settings; from django.db import connection; "
        "print(settings.ALLOWED_HOSTS, settings.DEBUG, connection.settings_dict['HOST'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert result.stdout.split() == ["[]", "False", "no-database-at-build.invalid"]


def test_production_settings_refuse_to_start_without_each_secret():
    # One interpreter imports the production settings once per missing secret.
    script = """
import importlib, json, os, sys
from django.core.exceptions import ImproperlyConfigured
required = json.loads(sys.argv[1])
missing = {}
for name in required:
    env = {key: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" for key in required if key != name}
    os.environ.clear()
    os.environ.update(env, PATH="/usr/bin:/bin")
    for module in [m for m in sys.modules if m.startswith("config.settings")]:
        del sys.modules[module]
    try:
        importlib.import_module("config.settings.production")
    except ImproperlyConfigured as error:
        missing[name] = str(error)
    else:
        missing[name] = None
print(json.dumps(missing))
"""
    required = [
        "DJANGO_SECRET_KEY",
        "KEYRING_ENCRYPTION_KEY",
        "AUDIT_SIGNING_KEY",
        "WEBHOOK_SECRET_KEY",
        "CERTIFICATE_SIGNING_KEY",
        "DJANGO_ALLOWED_HOSTS",
    ]
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(required)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    refusals = json.loads(result.stdout)
    for name in required:
        assert refusals[name] is not None, f"production settings start without {name}"
        assert name in refusals[name]
