"""The committed OpenAPI document is the app's own, and reads well for client generators."""

from __future__ import annotations

import json
from pathlib import Path

from buzz.openapi import render_openapi

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_document_is_up_to_date() -> None:
    assert DOCUMENT.read_text() == render_openapi(), "openapi/ is stale: run `buzz openapi`"


def test_buzz_schemas_are_named_and_errors_documented() -> None:
    document = json.loads(render_openapi())
    schemas = document["components"]["schemas"]
    for name in (
        "Integration",
        "IntegrationCreate",
        "Subscription",
        "SubscriptionCreate",
        "Channel",
        "Message",
        "BuzzError",
        "TokenResponse",
    ):
        assert name in schemas
    create = document["paths"]["/v1/buzz/integrations"]["post"]
    assert create["operationId"] == "createIntegration"
    assert create["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BuzzError"
    }
    assert "200" in create["responses"]


def test_every_schema_has_a_name_of_its_own() -> None:
    """Two models of one name get module-path names (`buzz__…__X`), which generators refuse
    as duplicates: each family names its own."""
    schemas = json.loads(render_openapi())["components"]["schemas"]
    assert [name for name in schemas if "__" in name] == []


def test_no_operation_documents_a_422() -> None:
    document = json.loads(render_openapi())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], f"{method} {path}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_document_is_valid_openapi() -> None:
    """openapi-spec-validator, the lint a generator or gateway runs first, finds no error."""
    from openapi_spec_validator import validate

    validate(json.loads(render_openapi()))


def test_every_operation_says_how_it_is_authenticated() -> None:
    """Redocly's security-defined rule: Buzz routes the OAuth bearer token, BuzzChat routes the
    API key, the callback its token, the token route HTTP Basic; the probes say `[]`."""
    document = json.loads(render_openapi())
    schemes = document["components"]["securitySchemes"]
    assert schemes["buzzOAuth"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert document["servers"][0]["url"].startswith("http")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {name for need in operation["security"] for name in need}
            assert names <= set(schemes), (method, path)
            if path.startswith("/v1/buzz/"):
                assert names == {"buzzOAuth"}, (method, path)
            elif path.startswith("/api/v1/"):
                assert names == {"apiKeyBearer", "apiKeyQuery"}, (method, path)
            elif path.startswith("/api/buzz/"):
                assert names == {"callbackToken"}, (method, path)
            elif path == "/oauth/token":
                assert names == {"clientBasic"}, (method, path)
            else:
                assert operation["security"] == [], (method, path)


def test_the_token_route_declares_what_domo_sends() -> None:
    document = json.loads(render_openapi())
    token = document["paths"]["/oauth/token"]
    assert set(token) == {"get", "post"}
    for operation in token.values():
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert query["grant_type"]["required"] is True
        assert query["grant_type"]["schema"]["enum"] == ["client_credentials"]
        assert query["scope"]["schema"]["enum"] == ["buzz"]
    assert "application/x-www-form-urlencoded" in token["post"]["requestBody"]["content"]


def test_buzzchat_responses_declare_the_rate_limit_headers() -> None:
    document = json.loads(render_openapi())
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                headers = set(response.get("headers", {}))
                if status == "401":
                    continue
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= (
                    headers
                ), (method, path, status)
                if status == "429":
                    assert "Retry-After" in headers, (method, path)


def test_nullable_only_where_null_is_accepted() -> None:
    """BuzzChat bodies refuse null (none of their fields is nullable in the document); the
    send route states its 1..500 bound in the schema, not only in prose."""
    schemas = json.loads(render_openapi())["components"]["schemas"]
    patch = schemas["SettingsPatch"]["properties"]
    assert all("anyOf" not in prop and prop.get("type") != "null" for prop in patch.values())
    message = schemas["SendMessage"]["properties"]["message"]
    assert (message["minLength"], message["maxLength"]) == (1, 500)


def test_no_parameter_is_nullable() -> None:
    """A query string, a path or a header cannot carry a null: optional parameters are simply
    not required."""
    paths = json.loads(render_openapi())["paths"]
    nullable = [
        (path, method, parameter["name"])
        for path, item in paths.items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if "null" in json.dumps(parameter["schema"])
    ]
    assert nullable == []
