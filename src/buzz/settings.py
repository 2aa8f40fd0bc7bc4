"""Settings read from `BUZZ_*` environment variables (and a `.env` file), validated at start."""

from __future__ import annotations

import os
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from buzz.state import StateKey

__all__ = ["SETTINGS", "Settings", "SettingsError", "load_settings"]

PositiveInt = Annotated[int, Field(ge=1)]


class SettingsError(Exception):
    """A setting is invalid; the message is one line that names the variable."""


class Settings(BaseSettings):
    """Every knob of the service (SPEC §1.2)."""

    model_config = SettingsConfigDict(
        env_prefix="BUZZ_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///./buzz.db"
    public_url: str = "http://127.0.0.1:8000"
    org_domain: str | None = None
    embedded_worker: bool = True
    rate_limit_storage: str = "memory://"
    dispatch_ca_bundle: str | None = None
    allow_private_targets: bool = False
    dispatch_concurrency: PositiveInt = 256
    dispatch_per_host: PositiveInt = 16
    dispatch_timeout_s: float = Field(default=10.0, gt=0, le=300)
    rate_limit_per_minute: PositiveInt = 60
    rate_limit_per_day: PositiveInt = 10_000
    # Failed BuzzChat authentications per client address per minute before 429 (§3.1).
    failed_auth_per_minute: PositiveInt = 30
    max_body_bytes: PositiveInt = 1024 * 1024
    # Addresses (or CIDRs, comma-separated; "*" for any) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    # A request's head and body must be in by then (slow or stalled clients get a 408).
    request_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # Finished deliveries (and their attempts) are kept this long in the delivery log.
    delivery_retention_days: PositiveInt = 30

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if url.get_backend_name() == "postgres":
            raise ValueError(
                "postgres:// is not a SQLAlchemy dialect name; write postgresql+psycopg://…"
            )
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite and postgresql databases are supported")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"memory", "redis", "rediss", "redis+unix"}:
            raise ValueError("must be memory:// or a redis:// URL")
        return value

    @field_validator("dispatch_ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value and not os.path.isfile(value):
            raise ValueError(f"no such file: {value}")
        return value or None

    @model_validator(mode="after")
    def _default_org_domain(self) -> Settings:
        if not self.org_domain:
            object.__setattr__(self, "org_domain", urlsplit(self.public_url).hostname)
        return self

    @property
    def organization_domain(self) -> str:
        """`organization.domain` put in Buzz events."""
        return self.org_domain or urlsplit(self.public_url).hostname or "localhost"


def load_settings() -> Settings:
    """Read settings from the environment, turning a validation error into one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting BUZZ_{field.upper()}: {message}") from None


SETTINGS: StateKey[Settings] = StateKey("settings")
