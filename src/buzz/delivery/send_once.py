"""A test event sent from a request (SPEC §2.4, §3.9): POSTed once, now, logged, never retried.

Both families' `/test` routes use it. No database session is held while the receiver answers
(up to the dispatch timeout): one short session signs the event, another records the attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from anyio import to_thread
from sqlalchemy.orm import Session

from buzz.db import Database
from buzz.delivery.attempts import AttemptResult, attempt
from buzz.delivery.outbox import OneOff, record_one_off
from buzz.delivery.poster import Poster

__all__ = ["send_once"]


async def send_once(
    database: Database, poster: Poster, *, prepare: Callable[[Session], OneOff], now: datetime
) -> AttemptResult:
    """Sign the event `prepare` builds (it checks the caller may), POST it, keep it in the
    target's delivery log as one attempt, and say what happened."""

    def signed() -> OneOff:
        with database.session() as session:
            sent = prepare(session)
            session.commit()  # what it wrote (a Buzz event's callback token) must work now
            return sent

    async with database.request_gate():
        sent = await to_thread.run_sync(signed)
    result = await attempt(
        poster, sent.url, payload=sent.payload, headers=sent.headers, clock=lambda: now
    )
    if result.response_code is not None and not result.delivered:
        result = replace(result, error=f"The receiver answered {result.response_code}")

    def record() -> None:
        with database.session() as session:
            record_one_off(session, sent, result=result)
            session.commit()

    async with database.request_gate():
        await to_thread.run_sync(record)
    return result
