"""Wire formats of Buzz integrations and subscriptions (SPEC §2.3, §2.4)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from buzz.delivery.schemas import RecoveryWindow
from buzz.delivery.urls import HttpsUrl
from buzz.integrations.models import EventType, Scope
from buzz.integrations.validation import (
    MAX_HEADER_VALUE_CHARS,
    check_header_name,
    check_header_value,
    normalize_slash_command,
)
from buzz.wire import CamelModel, NullMeansAbsent

__all__ = [
    "Header",
    "Integration",
    "IntegrationCreate",
    "IntegrationList",
    "RecoverRequest",
    "SecretRotated",
    "Subscription",
    "SubscriptionCreate",
    "SubscriptionList",
    "TestResult",
]

MASKED = "********"


class Header(NullMeansAbsent):
    """A header sent with every event POSTed to the integration."""

    name: Annotated[str, AfterValidator(check_header_name)] = Field(
        description="An HTTP token; not Host, Content-Length, Content-Type, Transfer-Encoding, "
        "Connection, nor x-buzz-* or webhook-*.",
        json_schema_extra={"minLength": 1, "pattern": "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$"},
    )
    value: Annotated[str, AfterValidator(check_header_value)] = Field(
        description="Up to 4,096 printable ASCII characters. Shown to the integration's owner "
        "only.",
        json_schema_extra={"maxLength": MAX_HEADER_VALUE_CHARS, "pattern": "^[\\x20-\\x7e]*$"},
    )


class IntegrationCreate(NullMeansAbsent):
    """A new integration."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: str | None = Field(default=None, max_length=1000)
    scope: Scope
    channel_ids: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="Required, and non-empty, if and only if scope is CHANNEL_LIST.",
    )
    headers: list[Header] = Field(default_factory=list, max_length=20)

    @field_validator("headers")
    @classmethod
    def _distinct_headers(cls, headers: list[Header]) -> list[Header]:
        seen: set[str] = set()
        for header in headers:
            if header.name.lower() in seen:
                raise ValueError(f"Header {header.name} is given twice")
            seen.add(header.name.lower())
        return headers


class Integration(CamelModel):
    """A Buzz integration. Header values are masked for everyone but its owner."""

    id: str
    owner_id: int
    name: str
    description: str | None = None
    scope: Scope
    channel_ids: list[str] | None = Field(default=None, description="Only for CHANNEL_LIST.")
    headers: list[Header]
    signing_secret: str | None = Field(
        default=None,
        description="The Standard Webhooks secret (whsec_…) that signs every event sent to this "
        "integration. Returned once, in the response that creates the integration.",
    )


class SecretRotated(CamelModel):
    """The integration's new signing secret, shown once."""

    signing_secret: str = Field(description="The new Standard Webhooks secret (whsec_…).")
    previous_secret_expires_at: str = Field(
        description="Until then (ISO 8601, UTC) the previous secret signs too, as a second "
        "signature: receivers can switch to the new one without missing an event."
    )


class IntegrationList(CamelModel):
    integrations: list[Integration]


class SubscriptionCreate(NullMeansAbsent):
    """A new event subscription."""

    event_type: EventType
    url: HttpsUrl
    slash_command: (
        Annotated[
            str,
            AfterValidator(normalize_slash_command),
            Field(json_schema_extra={"pattern": "^/?[A-Za-z0-9_-]{1,32}$"}),
        ]
        | None
    ) = Field(
        default=None,
        description="Required if and only if eventType is SLASH_COMMAND: the command, with or "
        "without its `/`, 1 to 32 of letters, digits, `_` and `-` (stored lower-case).",
    )


class Subscription(CamelModel):
    """An event subscription of an integration."""

    id: str
    event_type: EventType
    url: str
    slash_command: str | None = None
    active: bool = Field(
        default=True,
        description="False once disabled: the receiver answered 410 Gone, or every delivery "
        "failed for 5 days. Nothing more is sent; delete and recreate it to resume.",
    )
    disabled_reason: str | None = Field(default=None, description="Why it was disabled.")


class SubscriptionList(CamelModel):
    subscriptions: list[Subscription]


class TestResult(CamelModel):
    """What the test event's one POST got (as BuzzChat's webhook test answers)."""

    __test__ = False  # not a pytest class

    delivered: bool
    response_code: int | None = Field(description="The receiver's status; null if none came.")
    response_time: int = Field(description="Milliseconds.")
    error: str | None = Field(default=None, description="Why it was not delivered.")


class RecoverRequest(RecoveryWindow, NullMeansAbsent):
    """The window of failed deliveries to queue again (SPEC §3.10); null means absent."""
