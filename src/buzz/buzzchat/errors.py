"""The BuzzChat error envelope `{"success": false, "error": {"code", "message"}}` (SPEC §3).

Services raise the shared `ApiError` tree; this family names each error with the seed's codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from buzz.errors import ApiError
from buzz.web.errors import ErrorFamily, register_family

__all__ = [
    "BOT_INACTIVE",
    "BuzzChatError",
    "BuzzChatErrorBody",
    "buzzchat_errors",
    "install",
    "is_buzzchat_path",
]

BOT_INACTIVE = "BOT_INACTIVE"

# The seed's codes by status; statuses the seed does not name get a code in the same style.
_CODES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_API_KEY",
    403: "INSUFFICIENT_TIER",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def is_buzzchat_path(path: str) -> bool:
    """`/api/v1/...`, its alias `/v1/...` (but not Buzz's `/v1/buzz/...`) and `/mcp`."""
    if path == "/api/v1" or path.startswith("/api/v1/") or path == "/mcp":
        return True
    if path.startswith("/v1/buzz/") or path == "/v1/buzz":
        return False
    return path == "/v1" or path.startswith("/v1/")


def _code(error: ApiError) -> str:
    if error.status == 415:  # shared code calls a non-JSON body a validation error
        return _CODES[415]
    return error.code or _CODES.get(error.status, "ERROR")


def _render(_request: Request | None, _path: str, error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": _code(error), "message": error.message}
    if error.errors:
        body["details"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return {"success": False, "error": body}


class BuzzChatErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, str]] | None = None


class BuzzChatError(BaseModel):
    """Every BuzzChat error."""

    success: bool = False
    error: BuzzChatErrorBody


_DESCRIPTIONS = {
    400: "VALIDATION_ERROR (or BOT_INACTIVE): invalid request parameters",
    401: "INVALID_API_KEY: missing, unknown or revoked API key",
    403: "INSUFFICIENT_TIER: API access needs the Business tier",
    404: "NOT_FOUND: no such resource (or not this subscriber's)",
    429: "RATE_LIMIT_EXCEEDED: see Retry-After",
}


def buzzchat_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, in the BuzzChat envelope."""
    return {s: {"model": BuzzChatError, "description": _DESCRIPTIONS[s]} for s in statuses}


def install(app: FastAPI) -> None:
    """Render every error under `/api/v1` and `/v1` (not `/v1/buzz`) in the BuzzChat envelope."""
    register_family(app, ErrorFamily(name="buzzchat", matches=is_buzzchat_path, render=_render))
