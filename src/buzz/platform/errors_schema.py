"""The Buzz family's error envelope, documented for OpenAPI (SPEC §2.7)."""

from __future__ import annotations

from typing import Any

from buzz.wire import CamelModel

__all__ = ["BuzzError", "BuzzFieldError", "buzz_errors"]


class BuzzFieldError(CamelModel):
    """One field at fault in a 400."""

    field: str
    message: str


class BuzzError(CamelModel):
    """Every Buzz error, in Domo's style."""

    status: int
    status_reason: str
    message: str
    path: str
    errors: list[BuzzFieldError] | None = None


_DESCRIPTIONS = {
    400: "Invalid request (the `errors` list names each field at fault)",
    401: "Missing, unknown or expired access token",
    403: "Visible but not yours to change",
    404: "Not found, or not visible to the caller",
    409: "Already exists",
    413: "Request body larger than 1 MiB",
    415: "Body is not JSON",
    429: "Too many requests",
}


def buzz_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all in the Buzz envelope."""
    return {s: {"model": BuzzError, "description": _DESCRIPTIONS[s]} for s in statuses}
