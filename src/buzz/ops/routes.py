"""`/healthz` and `/readyz` (SPEC §1.4)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from buzz.db import DATABASE

__all__ = ["router"]

router = APIRouter(tags=["Operations"])
log = logging.getLogger("buzz.ops")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema stands at the newest migration."""
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
