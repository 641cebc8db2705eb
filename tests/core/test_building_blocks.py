"""Unit tests of the plumbing that every endpoint relies on."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from django.test import RequestFactory
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.agencies import hostcache
from apps.core.apps import CoreConfig
from apps.core.errors import ConflictError
from apps.core.exceptions import (
    flatten_errors,
    not_found_view,
    problem_exception_handler,
    server_error_view,
)
from apps.core.metrics import render
from apps.core.renderers import JSONRenderer


def test_nested_errors_are_flattened_to_dotted_paths():
    detail = {
        "name": ["Required."],
        "address": {"city": ["Too long."]},
        "children": [{"birth_date": ["Invalid."]}, {}],
        "plain": "Wrong.",
    }

    assert flatten_errors(detail) == {
        "name": ["Required."],
        "address.city": ["Too long."],
        "children.0.birth_date": ["Invalid."],
        "plain": ["Wrong."],
    }
    assert flatten_errors(["A", "B"]) == {"non_field_errors": ["A", "B"]}
    assert flatten_errors("Lone") == {"non_field_errors": ["Lone"]}


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ValidationError({"email": ["Bad."]}), 400, "validation_failed"),
        (ValidationError("Bad."), 400, "validation_failed"),
        (RequestDataTooBig(), 413, "payload_too_large"),
        (Http404(), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
        (ConflictError("Taken.", code="taken", extra={"hint": "x"}), 409, "taken"),
    ],
)
def test_django_and_application_errors_become_problems(exc, status, code):
    response = problem_exception_handler(exc, {})

    assert response.status_code == status
    assert response.data["code"] == code
    assert response.content_type == "application/problem+json"


def test_django_validation_errors_keep_their_fields():
    response = problem_exception_handler(ValidationError({"email": ["Bad."]}), {})

    assert response.data["errors"] == {"email": ["Bad."]}


def test_extra_members_are_added_to_the_problem():
    response = problem_exception_handler(ConflictError("Taken.", extra={"hint": "x"}), {})

    assert response.data["hint"] == "x"


def test_url_level_handlers_answer_problems():
    request = RequestFactory().get("/")

    assert not_found_view(request).status_code == 404
    crashed = server_error_view(request)
    assert crashed.status_code == 500
    assert b"internal_error" in crashed.content


def test_renderer_falls_back_for_types_orjson_does_not_know():
    label = gettext_lazy("French")  # a lazy string: orjson cannot encode it, DRF's encoder can

    body = JSONRenderer().render({"label": label})

    assert json.loads(body) == {"label": str(label)}
    assert JSONRenderer().render(None) == b""


def test_metrics_aggregate_workers_when_a_multiprocess_dir_is_set(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    payload, content_type = render()

    assert content_type.startswith("text/plain")
    assert isinstance(payload, bytes)


def test_filesystem_broker_folders_are_created_at_start(tmp_path, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "q"),
        "processed_folder": str(tmp_path / "p"),
        "store_processed": False,
    }
    import apps.core

    CoreConfig("apps.core", apps.core).ready()

    assert (tmp_path / "q").is_dir()
    assert (tmp_path / "p").is_dir()


@pytest.mark.django_db
def test_user_manager_normalises_and_creates_platform_admins():
    user = User.objects.create_user(email="  Awa@Example.TG ", password="une-phrase-longue")
    admin = User.objects.create_superuser(email="root@example.tg", password="une-phrase-longue")

    assert user.email == "awa@example.tg"
    assert user.check_password("une-phrase-longue")
    assert (admin.is_superuser, admin.is_staff) == (True, True)
    assert str(user) == str(user.id)
    user.first_name, user.last_name = "Awa", "Kossi"
    assert (user.get_full_name(), user.get_short_name()) == ("Awa Kossi", "Awa")


def test_host_cache_bump_survives_an_unreachable_store(settings):
    from apps.hotkeys.registry import reset_stores

    settings.HOTKEYS = {
        "default": {
            "BACKEND": "apps.hotkeys.backends.fdb.FoundationDBStore",
            "OPTIONS": {"cluster_file": "/nonexistent/fdb.cluster"},
        }
    }
    reset_stores()
    try:
        hostcache.bump_generation()  # logged, not raised: entries expire by themselves
        assert hostcache.current_generation() is None
    finally:
        reset_stores()


def test_host_cache_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(hostcache, "_entries", {f"h{i}": None for i in range(10_001)})

    hostcache.remember("new.localhost", None, 1)

    assert list(hostcache._entries) == ["new.localhost"]
