"""The document's constraints agree with the server's own checks (issue 11).

A client generated from `openapi/openapi.json` validates before it sends; a value the document
refuses must not be one the server takes (the document would be narrower than the API), and
where the document states the whole rule, what it accepts the server accepts too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as JsonSchemaError  # type: ignore[import-untyped]
from pydantic import BaseModel, ValidationError

from buzz.buzzchat.webhook_schemas import WebhookCreate
from buzz.integrations.schemas import Header, SubscriptionCreate
from buzz.integrations.validation import FORBIDDEN_HEADER_NAMES, FORBIDDEN_HEADER_PREFIXES
from buzz.openapi import render_openapi

SCHEMAS = json.loads(render_openapi())["components"]["schemas"]
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.text(
    "abcXYZ09-_/!#$%&'*+.^`|~ :@?\x7f\t", max_size=40
)


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[JsonSchemaError]:
    """`pattern` as JSON Schema reads it (ECMA-262): a closing `$` is the end of the string.
    jsonschema uses Python's `re`, whose `$` also matches before a final newline."""
    if not isinstance(instance, str):
        return
    python = (
        pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    )
    if not re.search(python, instance):
        yield JsonSchemaError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def documented(schema: str, field: str) -> Any:
    prop: dict[str, Any] = SCHEMAS[schema]["properties"][field]
    options = [o for o in prop.get("anyOf", [prop]) if o != {"type": "null"}]
    return EcmaValidator(options[0])


def accepted(model: type[BaseModel], **fields: Any) -> bool:
    try:
        model.model_validate(fields)
    except ValidationError:
        return False
    return True


HEADER_NAME = documented("Header", "name")
HEADER_VALUE = documented("Header", "value")
SLASH_COMMAND = documented("SubscriptionCreate", "slashCommand")
BUZZ_URL = documented("SubscriptionCreate", "url")
BUZZCHAT_URL = documented("WebhookCreate", "url")


@given(TEXT)
@example("x-my-api-secret")
@example("X-Buzz-Signature")
@example("bad name")
@example("0\n")
def test_header_names_the_document_allows_are_the_tokens_the_server_allows(name: str) -> None:
    server = accepted(Header, name=name, value="v")
    reserved = name.lower() in FORBIDDEN_HEADER_NAMES or name.lower().startswith(
        FORBIDDEN_HEADER_PREFIXES
    )
    assert server == (HEADER_NAME.is_valid(name) and not reserved), name


@given(TEXT | st.text("a", min_size=4090, max_size=4100))
@example("b5d25c5b-e38f-495e-9e16-40973be50c3a")
@example("line\r\nbreak")
def test_header_values_the_document_allows_are_the_ones_the_server_allows(value: str) -> None:
    assert accepted(Header, name="x-key", value=value) == HEADER_VALUE.is_valid(value), value


@given(TEXT)
@example("/close")
@example("Close")
@example("a" * 33)
def test_slash_commands_the_document_allows_are_the_ones_the_server_allows(command: str) -> None:
    server = accepted(
        SubscriptionCreate,
        eventType="SLASH_COMMAND",
        url="https://example.com/hook",
        slashCommand=command,
    )
    assert server == SLASH_COMMAND.is_valid(command), command


URLS = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["https://", "HTTPS://", "http://", "ftp://", "https:/", "", "//"]),
    st.sampled_from(["example.com", "user@example.com", "", "[::1]", "10.0.0.1", "exa mple.com"]),
    TEXT,
)


@pytest.mark.parametrize(
    ("model", "validator"),
    [(SubscriptionCreate, BUZZ_URL), (WebhookCreate, BUZZCHAT_URL)],
    ids=["buzz", "buzzchat"],
)
@given(url=URLS | st.text("a", min_size=2040, max_size=2060).map("https://x.io/".__add__))
def test_a_url_the_document_refuses_the_server_refuses(
    model: type[BaseModel], validator: Any, url: str
) -> None:
    fields = (
        {"eventType": "MESSAGE_POSTED", "url": url}
        if model is SubscriptionCreate
        else {"url": url, "events": ["giveaway.entry"]}
    )
    if accepted(model, **fields):
        assert validator.is_valid(url), url


def test_every_target_url_is_documented_as_an_https_uri() -> None:
    for schema in ("SubscriptionCreate", "WebhookCreate", "WebhookPatch"):
        url = SCHEMAS[schema]["properties"]["url"]
        assert (url["format"], url["maxLength"]) == ("uri", 2048), schema
        assert "https://" in url["description"], schema
