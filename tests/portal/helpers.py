"""Opening the portal as its user would: a link from the API, then a browser's requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from buzz.testing import SeededSubscriber, SeededUser

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def link_path(url: str) -> str:
    """The path (and query) of a portal link, to request from the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fresh_headers(client: TestClient, user: SeededUser) -> dict[str, str]:
    """A new access token of the user's client (tokens last an hour of the test's clock)."""
    response = client.post(
        "/oauth/token",
        params={"grant_type": "client_credentials", "scope": "buzz"},
        auth=(user.client_id, user.client_secret),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def integration_link(
    client: TestClient,
    user: SeededUser,
    integration_id: str,
    *,
    headers: dict[str, str] | None = None,
) -> str:
    response = client.post(
        f"/v1/buzz/integrations/{integration_id}/portal", headers=headers or user.headers
    )
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


def subscriber_link(client: TestClient, shop: SeededSubscriber) -> str:
    response = client.post("/api/v1/portal", headers=shop.headers)
    assert response.status_code == 201, response.text
    url: str = response.json()["data"]["url"]
    return url


@dataclass
class Browser:
    """One browser's portal session: its own cookie jar, forms sent with the page's token."""

    client: TestClient

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get("buzz_portal")

    def open(self, url: str) -> httpx.Response:
        return self.client.get(link_path(url), follow_redirects=False)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/portal{path}", params=params, follow_redirects=False)

    def page(self, path: str, **params: Any) -> str:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        return response.text

    def csrf(self) -> str:
        found = CSRF.search(self.page("/"))
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        csrf: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        form = {"csrf": self.csrf() if csrf is None else csrf, **(data or {})}
        return self.client.post(
            f"/portal{path}", data=form, headers=headers, follow_redirects=False
        )


def browser(app: Any, url: str | None = None, *, base_url: str = "http://testserver") -> Browser:
    """A new browser (its own cookies) on the app; with `url`, the portal link opened."""
    opened = Browser(TestClient(app, base_url=base_url))
    if url is not None:
        response = opened.open(url)
        assert response.status_code == 303, response.text
        assert opened.cookie, response.headers
    return opened
