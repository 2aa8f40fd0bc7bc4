"""API keys (SPEC §3.1): `bz_live_` + 48 base62, shown once, stored as SHA-256, at most 5 live."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, error, ok

KEY_SHAPE = re.compile(r"^bz_live_[A-Za-z0-9]{48}$")


def create_key(client: TestClient, shop: SeededSubscriber, **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(
        client.post(f"{API}/keys", json=body or None, headers=shop.headers), 201
    )
    return data


def listed(client: TestClient, shop: SeededSubscriber) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = ok(client.get(f"{API}/keys", headers=shop.headers))["keys"]
    return keys


def stored_rows(app: FastAPI) -> list[tuple[Any, ...]]:
    with app.state.database.session() as session:
        return [tuple(row) for row in session.execute(text("SELECT * FROM bz_api_keys"))]


def test_created_key_has_the_documented_shape(client: TestClient, shop: SeededSubscriber) -> None:
    created = create_key(client, shop, name="Checkout bot")
    assert KEY_SHAPE.match(created["key"])
    assert created["id"] != created["key"]
    assert created["name"] == "Checkout bot"
    assert created["prefix"] == created["key"][:12]
    assert created["prefix"].startswith("bz_live_")
    assert created["lastUsedAt"] is None
    assert created["createdAt"].startswith("2026-03-02T09:30:00")


def test_key_without_body_gets_the_default_name(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.post(f"{API}/keys", headers=shop.headers)
    assert ok(response, 201)["name"] == "API key"
    assert create_key(client, shop)["name"] == "API key"


def test_created_key_works_at_once(client: TestClient, shop: SeededSubscriber) -> None:
    created = create_key(client, shop)
    data = ok(client.get(f"{API}/accounts", headers={"Authorization": f"Bearer {created['key']}"}))
    assert [a["id"] for a in data["accounts"]] == [shop.account_id]


def test_keys_are_random(client: TestClient, shop: SeededSubscriber) -> None:
    first, second = create_key(client, shop), create_key(client, shop)
    assert first["key"] != second["key"]
    assert first["id"] != second["id"]


def test_list_never_shows_a_key(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    clock.advance(seconds=1)
    created = create_key(client, shop, name="second")
    response = client.get(f"{API}/keys", headers=shop.headers)
    keys = ok(response)["keys"]
    assert [k["id"] for k in keys] == [shop.key_id, created["id"]]
    for item in keys:
        assert set(item) == {"id", "name", "prefix", "createdAt", "lastUsedAt"}
    assert created["key"] not in response.text
    assert shop.key not in response.text


def test_keys_are_stored_only_as_sha256(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    created = create_key(client, shop)
    rows = stored_rows(app)
    dump = repr(rows)
    for plaintext in (shop.key, created["key"]):
        assert plaintext not in dump
        assert plaintext[12:] not in dump
        assert hashlib.sha256(plaintext.encode()).hexdigest() in dump
    with app.state.database.session() as session:
        hashes = session.execute(text("SELECT id, key_hash FROM bz_api_keys")).all()
    expected = {
        shop.key_id: hashlib.sha256(shop.key.encode()).hexdigest(),
        created["id"]: hashlib.sha256(created["key"].encode()).hexdigest(),
    }
    assert dict((row[0], row[1]) for row in hashes) == expected


def test_at_most_five_live_keys(client: TestClient, shop: SeededSubscriber) -> None:
    for n in range(4):
        create_key(client, shop, name=f"key {n}")
    assert len(listed(client, shop)) == 5
    response = client.post(f"{API}/keys", json={"name": "sixth"}, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert len(listed(client, shop)) == 5


def test_revoking_frees_a_slot(client: TestClient, shop: SeededSubscriber) -> None:
    extra = [create_key(client, shop) for _ in range(4)]
    ok(client.delete(f"{API}/keys/{extra[0]['id']}", headers=shop.headers))
    create_key(client, shop, name="replacement")
    assert len(listed(client, shop)) == 5


def test_revoke_answers_the_message_and_hides_the_key(
    client: TestClient, shop: SeededSubscriber
) -> None:
    created = create_key(client, shop)
    response = client.delete(f"{API}/keys/{created['id']}", headers=shop.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "API key revoked"}
    assert [k["id"] for k in listed(client, shop)] == [shop.key_id]
    refused = client.get(f"{API}/settings", headers={"Authorization": f"Bearer {created['key']}"})
    error(refused, 401, "INVALID_API_KEY")


def test_revoking_the_calling_key_refuses_it_from_the_next_request(
    client: TestClient, shop: SeededSubscriber
) -> None:
    ok(client.delete(f"{API}/keys/{shop.key_id}", headers=shop.headers))
    error(client.get(f"{API}/keys", headers=shop.headers), 401, "INVALID_API_KEY")


def test_revoking_unknown_or_revoked_key_is_404(client: TestClient, shop: SeededSubscriber) -> None:
    created = create_key(client, shop)
    ok(client.delete(f"{API}/keys/{created['id']}", headers=shop.headers))
    error(client.delete(f"{API}/keys/{created['id']}", headers=shop.headers), 404, "NOT_FOUND")
    error(client.delete(f"{API}/keys/key_nope", headers=shop.headers), 404, "NOT_FOUND")


def test_last_used_at_is_set_when_the_key_is_used(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    created = create_key(client, shop)
    before = {k["id"]: k["lastUsedAt"] for k in listed(client, shop)}
    assert before[created["id"]] is None
    clock.advance(minutes=5)
    ok(client.get(f"{API}/settings", headers={"Authorization": f"Bearer {created['key']}"}))
    after = {k["id"]: k["lastUsedAt"] for k in listed(client, shop)}
    assert after[created["id"]].startswith("2026-03-02T09:35:00")


def test_invalid_key_names_are_400(client: TestClient, shop: SeededSubscriber) -> None:
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": 5}, {"name": None}):
        response = client.post(f"{API}/keys", json=body, headers=shop.headers)
        error(response, 400, "VALIDATION_ERROR")
    error(
        client.post(f"{API}/keys", json={"label": "x"}, headers=shop.headers),
        400,
        "VALIDATION_ERROR",
    )
    assert len(listed(client, shop)) == 1


def test_key_name_is_trimmed(client: TestClient, shop: SeededSubscriber) -> None:
    assert create_key(client, shop, name="  Zapier  ")["name"] == "Zapier"
