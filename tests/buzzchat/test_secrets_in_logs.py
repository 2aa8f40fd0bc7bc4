"""Keys and webhook secrets never reach the server's logs, even when sent in a query string."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.serving import buzz_serve


def test_keys_and_secrets_are_never_logged(tmp_path: Path) -> None:
    with buzz_serve(tmp_path) as server:
        key = server.bootstrap()["apiKey"]["key"]
        wrong = key[:-4] + "zzzz"
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/api/v1/settings", params={"api_key": key}).status_code == 200
            assert http.get("/v1/analytics", params={"api_key": wrong}).status_code == 401
            assert (
                http.get(
                    "/api/v1/settings", headers={"Authorization": f"Bearer {wrong}"}
                ).status_code
                == 401
            )
            new_key = http.post(
                "/api/v1/keys", json={"name": "ci"}, headers={"Authorization": f"Bearer {key}"}
            ).json()["data"]["key"]
            secret = http.post(
                "/api/v1/webhooks",
                json={"url": "https://hooks.example.com/in", "events": ["bot.started"]},
                headers={"Authorization": f"Bearer {new_key}"},
            ).json()["data"]["secret"]
    logs = server.stderr
    assert "GET /api/v1/settings 200" in logs  # the access log was written
    for value in (key, wrong, new_key, secret, secret.removeprefix("whsec_")):
        assert value not in logs
