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


def test_no_operation_documents_a_422() -> None:
    document = json.loads(render_openapi())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], f"{method} {path}"
    assert "HTTPValidationError" not in document["components"]["schemas"]
