"""One POST of a delivery and what it came to, whoever sends it (the dispatcher, a test route)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from buzz.clock import Clock
from buzz.delivery import retry
from buzz.delivery.errors import DeliveryError, target_of
from buzz.delivery.poster import Poster

__all__ = ["AttemptResult", "attempt"]

log = logging.getLogger("buzz.dispatcher")


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """What one POST got: a status and the start of the body, or the error that stopped it."""

    at: datetime
    duration_ms: int
    response_code: int | None = None
    error: str | None = None
    response_body: bytes = b""
    retry_after_s: float | None = None

    @property
    def verdict(self) -> retry.Verdict:
        """Delivered, gone, or to be retried (no status at all is retried)."""
        if self.response_code is None:
            return "retry"
        return retry.classify(self.response_code)

    @property
    def delivered(self) -> bool:
        return self.verdict == "delivered"


async def attempt(
    poster: Poster, url: str, *, payload: bytes, headers: Mapping[str, str], clock: Clock
) -> AttemptResult:
    """POST `payload` once through `poster` and say what happened; never raises for the receiver."""
    at = clock()
    started = time.perf_counter()
    try:
        response = await poster.post(url, content=payload, headers=headers)
    except DeliveryError as exc:
        return AttemptResult(at=at, duration_ms=_ms(started), error=str(exc))
    except Exception as exc:  # a bug of ours: logged, and the delivery is retried as a failure
        log.exception("sending to %s failed unexpectedly", target_of(url))
        error = f"internal error while sending: {type(exc).__name__}"
        return AttemptResult(at=at, duration_ms=_ms(started), error=error)
    code = response.status_code
    return AttemptResult(
        at=at,
        duration_ms=_ms(started),
        response_code=code,
        response_body=response.body,
        error=None if 200 <= code < 300 else f"HTTP {code}",
        retry_after_s=retry.retry_after_for(code, response.headers, clock()),
    )


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
