"""Fixtures of the contract tests: the compiled catalogues and the served schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.i18n.conftest import compiled_catalogues  # noqa: F401  (session fixture, autouse)

_SERVED: dict[tuple[Any, ...], bytes] = {}


@pytest.fixture
def served_schema(api: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """``served_schema(host, query="", **headers)``: the document ``/api/schema/`` serves.

    Generating a schema takes seconds and depends only on the code: each variant is fetched
    once per run (through the real view), then parsed afresh for each test.
    """

    def fetch(host: str, query: str = "", **headers: str) -> dict[str, Any]:
        key = (host, query, tuple(sorted(headers.items())))
        if key not in _SERVED:
            response = api(host).get(f"/api/schema/{query}", **headers)
            assert response.status_code == 200, response.content[:500]
            _SERVED[key] = response.content
        return dict(yaml.safe_load(_SERVED[key]))

    return fetch
