"""`/docs` and `/redoc` work on a host with no network: every asset they load is ours."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

# What each page must load for its UI to start, and the type it must come back as.
EXPECTED = {
    "/docs": {"swagger-ui-bundle.js": "javascript", "swagger-ui.css": "text/css"},
    "/redoc": {"redoc.standalone.js": "javascript"},
}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url"} and value:
                self.links.append(value)


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    # Swagger UI's page names the document in its script: `url: '/openapi.json'`.
    return parser.links + re.findall(r"url:\s*'([^']+)'", html)


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_the_page_loads_only_what_the_service_serves(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    links = _links(html)
    assert links, html
    # No absolute URL anywhere in the page: nothing leaves the service's origin.
    assert re.findall(r"(?:https?:)?//[\w.-]+\.\w", html) == []
    for link in links:
        assert link.startswith("/"), link
        served = client.get(link)
        assert served.status_code == 200, link
        assert served.content, link
    for name, kind in EXPECTED[page].items():
        asset = next(link for link in links if link.endswith(name))
        assert kind in client.get(asset).headers["content-type"]
    assert "/openapi.json" in links
    if page == "/docs":
        # Nor does Swagger UI send the document to validator.swagger.io.
        assert '"validatorUrl": null' in html


def test_the_redoc_bundle_fetches_no_logo_from_redoclys_cdn(client: TestClient) -> None:
    """ReDoc's sidebar footer shows Redocly's logo from its CDN whatever the options; the
    bundle we serve names a local image instead (the browser test sees no request leave)."""
    bundle = client.get("/docs/redoc.standalone.js")

    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert "cdn.redoc.ly" not in bundle.text
    assert "data:image/svg+xml" in bundle.text
