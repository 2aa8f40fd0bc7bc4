"""Route helpers: JSON-only bodies, pagination, operation ids, the injected clock."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel

from buzz.clock import CLOCK
from buzz.errors import ApiError

__all__ = [
    "ClockDep",
    "JSONRoute",
    "Page",
    "PageDep",
    "now_of",
    "operation_id",
]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JSONRoute(APIRoute):
    """A route whose body, when there is one, must be sent as JSON (else 415)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            has_body = request.headers.get("content-length", "0") != "0" or (
                "transfer-encoding" in request.headers
            )
            content_type = request.headers.get("content-type", "")
            if has_body and not _is_json(content_type):
                raise ApiError(
                    f"Content-Type must be application/json, not {content_type or 'missing'}",
                    status=415,
                    code="VALIDATION_ERROR",
                )
            return await handler(request)

        return json_only


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids read like SDK methods: `create_integration` → `createIntegration`."""
    return to_camel(route.name)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page(  # async: trivial, so it runs in the event loop instead of a worker thread
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (1..500).")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(page)]


def now_of(request: Request) -> datetime:
    """The app's clock, read once for this request."""
    return CLOCK.of(request.app)()


async def _now(request: Request) -> datetime:  # async: no thread hop for a clock read
    return now_of(request)


ClockDep = Annotated[datetime, Depends(_now)]
