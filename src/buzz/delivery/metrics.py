"""Prometheus metrics of deliveries (SPEC §1.4); the queue gauges are read at scrape time."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

from prometheus_client import Counter, Histogram

from buzz.delivery.claims import AttemptOutcome
from buzz.delivery.retry import Verdict

__all__ = ["ATTEMPTS", "DELIVERY_LATENCY", "observe_attempt"]

ATTEMPTS = Counter(
    "buzz_delivery_attempts",
    "Delivery attempts by outcome: delivered, retry (failed, tried again later), gone (410).",
    ["outcome"],
)
DELIVERY_LATENCY = Histogram(
    "buzz_delivery_latency_seconds",
    "From the event's commit to its successful delivery.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)


_BY_VERDICT = {verdict: ATTEMPTS.labels(outcome=verdict) for verdict in get_args(Verdict)}


def observe_attempt(outcome: AttemptOutcome, *, now: datetime) -> None:
    """Count one attempt, and time it from the event when it delivered."""
    verdict = outcome.verdict
    _BY_VERDICT[verdict].inc()
    if verdict == "delivered":
        DELIVERY_LATENCY.observe(max(0.0, (now - outcome.delivery.created_at).total_seconds()))
