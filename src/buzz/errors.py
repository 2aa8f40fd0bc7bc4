"""Errors that services raise, at the bottom of the layers; `buzz.web.errors` renders them.

    ApiError(status, message, code?, errors?)
    ├── BadRequest        400 (with field `errors` when a field is at fault)
    ├── Unauthorized      401
    ├── Forbidden         403
    ├── NotFound          404
    ├── Conflict          409
    └── TooManyRequests   429

They know nothing of wire formats: each API family's envelope is chosen by the request's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
]


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """An error that becomes an HTTP response in the request's family envelope."""

    status = 400
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.default_code
        self.errors = list(errors)
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400

    @classmethod
    def on(cls, field_name: str, message: str) -> BadRequest:
        """A validation error pinned on one field."""
        return cls(message, errors=[FieldError(field_name, message)])


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429
