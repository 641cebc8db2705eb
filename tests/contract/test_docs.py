"""The documentation pages fetch nothing from outside and speak French or English."""

from __future__ import annotations

import re

import pytest

from tests.conftest import HOST_A, PUBLIC_HOST

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
