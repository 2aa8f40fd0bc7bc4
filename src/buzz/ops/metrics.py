"""`/metrics`: Prometheus text (SPEC §1.4): requests, deliveries, latency, queue depth and age."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from buzz.clock import CLOCK
from buzz.db import DATABASE
from buzz.delivery import claims
from buzz.ops.routes import PUBLIC

__all__ = ["router"]

QUEUE_DEPTH = Gauge("buzz_delivery_queue_depth", "Deliveries waiting to be sent (pending).")
OLDEST_DUE_AGE = Gauge(
    "buzz_delivery_oldest_due_age_seconds", "How long the oldest due delivery has waited."
)

router = APIRouter(tags=["Operations"])


@router.get("/metrics", response_class=Response, openapi_extra=PUBLIC)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process, with the queue read from the database."""
    now = CLOCK.of(request.app)()
    depth, age = await DATABASE.of(request.app).read(
        lambda session: claims.queue_stats(session, now=now)
    )
    QUEUE_DEPTH.set(depth)
    OLDEST_DUE_AGE.set(age)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
