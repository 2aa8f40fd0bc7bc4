"""Input the database cannot store is a 400 in the family's envelope on every route (SPEC §1.6):
integers past 64 bits, U+0000, unpaired surrogates, NaN; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buzz.testing import SeededSubscriber, SeededUser, seed_subscriber
from tests.buzzchat.helpers import API
from tests.integrations.helpers import make_channel

REFUSALS = ("cannot be stored", "out of range", "not valid Unicode", "not a finite number")
BIG = st.one_of(
    st.integers(min_value=2**63, max_value=2**90),
    st.integers(min_value=-(2**90), max_value=-(2**63) - 1),
)
NUL = st.text(max_size=4).map(lambda t: f"{t}\x00{t}")
SURROGATE = st.sampled_from(["\ud800", "a\udfffb", "x\udbff"])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    query: tuple[str, ...]
    path_params: tuple[str, ...]
    body_fields: tuple[str, ...]
    has_body: bool


def operations(app: FastAPI) -> list[Operation]:
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            params = operation.get("parameters", [])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields: tuple[str, ...] = ()
            if body is not None:
                ref = body["schema"].get("$ref") or next(
                    (s["$ref"] for s in body["schema"].get("anyOf", []) if "$ref" in s), None
                )
                if ref is not None:
                    fields = tuple(schemas[ref.rsplit("/", 1)[1]].get("properties", {}))
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    query=tuple(p["name"] for p in params if p["in"] == "query"),
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    body_fields=fields,
                    has_body=body is not None,
                )
            )
    return found


@pytest.fixture
def shop(app: FastAPI) -> SeededSubscriber:
    return seed_subscriber(app)


def refusal_of(response: Any) -> str:
    """The message of a 400 in either family's envelope."""
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    message: str = body["error"]["message"] if "error" in body else body["message"]
    assert any(why in message for why in REFUSALS), message
    return message


def send(
    client: TestClient,
    op: Operation,
    auth: dict[str, dict[str, str]],
    *,
    path_values: dict[str, str],
    query: dict[str, str],
    body: Any,
) -> Any:
    path = re.sub(
        r"\{([^}]+)\}", lambda m: quote(path_values.get(m.group(1), "x1"), safe=""), op.path
    )
    headers = (
        auth["buzzchat"]
        if op.path.startswith(("/api/v1", "/v1/")) and not op.path.startswith("/v1/buzz")
        else auth["buzz"]
    )
    content = None
    if op.has_body:
        headers = {**headers, "content-type": "application/json"}
        content = json.dumps(body if body is not None else {}).encode()
    return client.request(op.method, path, params=query, content=content, headers=headers)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_route_refuses_what_the_database_cannot_store(
    app: FastAPI, client: TestClient, alice: SeededUser, shop: SeededSubscriber, data: st.DataObject
) -> None:
    ops = operations(app)
    op = data.draw(st.sampled_from(ops))
    auth = {"buzz": alice.headers, "buzzchat": shop.headers}
    places = [f"query:{q}" for q in op.query] + [f"path:{p}" for p in op.path_params]
    places += [f"body:{f}" for f in op.body_fields] + (["body:"] if op.has_body else [])
    if not places:
        places = ["query:unexpected"]
    place = data.draw(st.sampled_from(places))
    kind, name = place.split(":", 1)
    in_url = kind in ("query", "path")
    value: Any = data.draw(BIG if in_url else st.one_of(BIG, NUL, SURROGATE, st.just(float("nan"))))
    if in_url and data.draw(st.booleans()):
        value = data.draw(NUL)
    text = str(value)
    body: Any = None
    if kind == "body":
        body = {name: value} if name else [value]
    response = send(
        client,
        op,
        auth,
        path_values={name: text} if kind == "path" else {},
        query={name: text} if kind == "query" else {},
        body=body,
    )
    refusal_of(response)


# ---- the cases an outside probe found, by hand -----------------------------------------------


def test_the_probes_cases_are_400_not_500(
    client: TestClient, alice: SeededUser, shop: SeededSubscriber
) -> None:
    channel = make_channel(client, alice)
    buzz, chat = alice.headers, shop.headers
    huge = "9223372036854775808"
    refusal_of(client.get(f"/v1/buzz/channels?offset={huge}", headers=buzz))
    refusal_of(client.get(f"{API}/messages?offset={huge}", headers=chat))
    refusal_of(
        client.post(f"/v1/buzz/channels/{channel}/members", json={"userIds": [2**63]}, headers=buzz)
    )
    refusal_of(client.delete(f"/v1/buzz/channels/{channel}/members/{huge}", headers=buzz))
    refusal_of(client.post("/v1/buzz/channels", json={"title": "a\x00b"}, headers=buzz))
    refusal_of(client.get("/v1/buzz/channels/a%00b", headers=buzz))
    refusal_of(client.get(f"{API}/settings?account=acc%00", headers=chat))
    surrogate = b'{"message": "a\\ud800b"}'
    sent = client.post(
        f"{API}/messages/send",
        content=surrogate,
        headers={**chat, "content-type": "application/json"},
    )
    assert "message" in refusal_of(sent)
    assert sent.json()["error"]["code"] == "VALIDATION_ERROR"
    nan = client.post(
        f"{API}/chat/events",
        content=b'{"events": NaN}',
        headers={**chat, "content-type": "application/json"},
    )
    refusal_of(nan)


def test_the_edges_of_what_can_be_stored_pass(client: TestClient, alice: SeededUser) -> None:
    limit = str(2**63 - 1)
    listed = client.get(f"/v1/buzz/channels?offset={limit}", headers=alice.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["channels"] == []
    titled = client.post(
        "/v1/buzz/channels", json={"title": "tab\there 🐝 é"}, headers=alice.headers
    )
    assert titled.status_code == 201, titled.text
    assert titled.json()["title"] == "tab\there 🐝 é"
