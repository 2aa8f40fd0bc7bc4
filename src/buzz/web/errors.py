"""Errors in their wire formats.

Services raise `buzz.errors.ApiError` and its subclasses, which know nothing of wire formats.
Each API family registers an `ErrorFamily` for its path prefixes; the handlers here pick the
family of the request's path and render every error (ours, Starlette's 404/405, validation,
oversized bodies) in that family's envelope. Unexpected exceptions become a 500 in the same
envelope in `RequestContextMiddleware`, where the request id is still known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError as DatabaseUnavailable
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from buzz.errors import ApiError, BadRequest, FieldError
from buzz.state import StateKey

__all__ = [
    "ErrorFamily",
    "error_response",
    "install_error_handlers",
    "register_family",
]

log = logging.getLogger("buzz.errors")


Renderer = Callable[[Request | None, str, ApiError], dict[str, Any]]


@dataclass(frozen=True)
class ErrorFamily:
    """How one API family writes its errors, and which paths are its own."""

    name: str
    matches: Callable[[str], bool]
    render: Renderer
    media_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)
    # A family that answers people rather than programs (the portal's HTML pages) writes the
    # whole response; `render` is then unused.
    respond: Callable[[Request | None, str, ApiError], Response] | None = None


def _domo_render(_request: Request | None, path: str, error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": error.status,
        "statusReason": _reason(error.status),
        "message": error.message,
        "path": path,
    }
    if error.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return body


# Every path that no family claims gets Domo's envelope, the service's default.
DEFAULT_FAMILY = ErrorFamily(name="buzz", matches=lambda _path: True, render=_domo_render)


ERROR_FAMILIES: StateKey[tuple[ErrorFamily, ...]] = StateKey("error_families")


def register_family(app: FastAPI, family: ErrorFamily) -> None:
    """Claim paths for a family; later registrations are consulted first."""
    ERROR_FAMILIES.put(app, (family, *ERROR_FAMILIES.get(app, ())))


def family_of(app: Any, path: str) -> ErrorFamily:
    """The family whose envelope errors on `path` are written in (Domo's by default)."""
    for family in ERROR_FAMILIES.get(app, ()):
        if family.matches(path):
            return family
    return DEFAULT_FAMILY


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(
    app: Any, path: str, error: ApiError, request: Request | None = None
) -> Response:
    """Render `error` for `path` in its family's envelope."""
    family = family_of(app, path)
    if family.respond is not None:
        response = family.respond(request, path, error)
        response.headers.update(error.headers or {})
        return response
    return JSONResponse(
        family.render(request, path, error),
        status_code=error.status,
        headers=error.headers or None,
    )


def _field_name(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return f"Malformed JSON body: {detail}".rstrip(": ")
    if kind == "missing":
        return "This field is required"
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_error(exc: RequestValidationError) -> BadRequest:
    """A 400 listing every field at fault, from FastAPI's validation error."""
    errors = [FieldError(_field_name(e.get("loc", ())), _message(e)) for e in exc.errors()]
    if any(e.message.startswith("Malformed JSON") for e in errors):
        first = next(e for e in errors if e.message.startswith("Malformed JSON"))
        return BadRequest(first.message, errors=[FieldError("body", first.message)])
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return BadRequest(f"Invalid request: {summary}", errors=errors)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette's 405 names only the
    first route that matched the path, and a path is often served by one route per method; so
    each method is tried against the app's routes, as the router itself would."""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return allowed


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of the app through the family envelopes."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request.app, request.url.path, exc, request)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        messages = {
            404: f"No route matches {request.url.path}",
            405: f"Method {request.method} is not allowed on {request.url.path}",
        }
        message = messages.get(exc.status_code) or str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        error = ApiError(message, status=exc.status_code, headers=headers)
        return error_response(request.app, request.url.path, error, request)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request.app, request.url.path, validation_error(exc), request)

    async def on_database_busy(request: Request, exc: Exception) -> Response:
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        error = ApiError(
            "The service is busy; retry shortly",
            status=503,
            code="SERVICE_UNAVAILABLE",
            headers={"Retry-After": "1"},
        )
        return error_response(request.app, request.url.path, error, request)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    # No connection free in time, SQLite locked past busy_timeout, the server down: 503, not 500.
    app.add_exception_handler(PoolTimeout, on_database_busy)
    app.add_exception_handler(DatabaseUnavailable, on_database_busy)
