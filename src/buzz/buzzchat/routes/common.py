"""What every BuzzChat router shares."""

from __future__ import annotations

from fastapi import APIRouter

from buzz.buzzchat.errors import buzzchat_errors
from buzz.web.routing import JSONRoute

__all__ = ["new_router"]


def new_router(tag: str, *statuses: int) -> APIRouter:
    """A router of JSON routes documented with the BuzzChat errors they can answer."""
    return APIRouter(
        route_class=JSONRoute,
        tags=[f"BuzzChat: {tag}"],
        responses=buzzchat_errors(401, 403, 429, *statuses),
    )
