"""The documentation pages fetch nothing from outside and speak French or English."""

from __future__ import annotations

import re

import pytest

from tests.conftest import HOST_A, PUBLIC_HOST
from tests.contract.schema_walk import undescribed

pytestmark = pytest.mark.django_db

PAGES = ["/api/docs/", "/api/redoc/"]
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
@pytest.mark.parametrize("page", PAGES)
def test_the_docs_pages_reference_no_outside_address(api, host, page):
    response = api(host).get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" in html
    outside = [url for url in URL.findall(html) if not url.split("//", 1)[1].startswith(host)]
    assert outside == []
    # What the bundled viewers would still fetch (ReDoc's footer logo) is refused by the page's
    # policy: this host only.
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "font-src 'self' data:" in policy
    assert "connect-src 'self'" in policy


@pytest.mark.parametrize("page", PAGES)
def test_the_docs_pages_load_their_assets_from_this_host(api, page, client):
    html = api(HOST_A).get(page).content.decode()

    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets
    for asset in assets:
        assert client.get(asset, HTTP_HOST=HOST_A).status_code == 200, asset


def test_the_docs_pages_pass_the_language_to_the_schema(api):
    html = api(HOST_A).get("/api/redoc/?lang=en").content.decode()

    assert "/api/schema/?lang=en" in html


def _operation(schema, path, method):
    return schema["paths"][path][method]


@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
def test_the_schema_is_french_by_default_and_english_on_request(served_schema, host):
    default = served_schema(host)
    by_header = served_schema(host, HTTP_ACCEPT_LANGUAGE="en")
    by_query = served_schema(host, "?lang=en", HTTP_ACCEPT_LANGUAGE="fr")
    french_by_query = served_schema(host, "?lang=fr", HTTP_ACCEPT_LANGUAGE="en")

    token = _operation(default, "/api/v1/auth/token/", "post")
    assert token["summary"] == "Obtenir un jeton d'accès et un jeton de rafraîchissement"
    assert _operation(by_header, "/api/v1/auth/token/", "post")["summary"] == (
        "Obtain an access and a refresh token"
    )
    assert by_query == by_header
    assert french_by_query == default
    problem = default["components"]["schemas"]["Problem"]["properties"]["code"]
    assert "stable" in problem["description"].lower()
    assert (
        problem["description"]
        != (by_header["components"]["schemas"]["Problem"]["properties"]["code"]["description"])
    )


@pytest.mark.parametrize("host", [PUBLIC_HOST, HOST_A])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_operation_parameter_and_field_is_described(served_schema, host, lang):
    assert undescribed(served_schema(host, f"?lang={lang}")) == []
