"""`/healthz` and `/readyz` (SPEC §1.4)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from buzz.db import DATABASE
from buzz.ops.supervisor import SUPERVISOR

__all__ = ["router"]

router = APIRouter(tags=["Operations"])
# Probes answer without credentials: said so in the document, not left unsaid.
PUBLIC: dict[str, Any] = {"security": []}
log = logging.getLogger("buzz.ops")


@router.get("/healthz", openapi_extra=PUBLIC)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    openapi_extra=PUBLIC,
    responses={
        503: {"description": "Database unreachable or not migrated, or a background task down"}
    },
)
def readyz(request: Request) -> JSONResponse:
    """The database answers, its schema stands at the newest migration, and every background
    task of this process (dispatcher, housekeeping, bots) is running."""
    supervisor = SUPERVISOR.get(request.app, None)
    down = supervisor.down() if supervisor is not None else {}
    if down:
        name, why = next(iter(sorted(down.items())))
        return JSONResponse(
            {"status": "unavailable", "reason": f"background task {name} is down ({why})"}, 503
        )
    database = DATABASE.of(request.app)
    try:
        migrated = database.is_migrated()
    except SQLAlchemyError as exc:
        log.warning("readiness check failed: %s", exc.__class__.__name__)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    if not migrated:
        return JSONResponse(
            {"status": "unavailable", "reason": "database not migrated: run `buzz migrate`"}, 503
        )
    return JSONResponse({"status": "ready"})
