"""Every BuzzChat v1 route, served at `/api/v1` and, for the seed's examples, at `/v1`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from buzz.buzzchat.routes import (
    accounts,
    analytics,
    chat,
    giveaway,
    keys,
    messages,
    settings,
    webhooks,
)

__all__ = ["include"]

CANONICAL_PREFIX = "/api/v1"
ALIAS_PREFIX = "/v1"


def _router() -> APIRouter:
    router = APIRouter()
    for module in (analytics, messages, giveaway, settings, accounts, keys, chat, webhooks):
        router.include_router(module.router)
    return router


def include(app: FastAPI) -> None:
    """Mount the routes at `/api/v1` (documented) and `/v1` (the same, hidden from the schema)."""
    router = _router()
    app.include_router(router, prefix=CANONICAL_PREFIX)
    app.include_router(router, prefix=ALIAS_PREFIX, include_in_schema=False)
