"""Housekeeping, run beside the dispatcher: forget credentials that can no longer be used."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import delete

from buzz.clock import Clock
from buzz.db import Database
from buzz.integrations import callback
from buzz.ops import periodic
from buzz.platform.models import AccessToken

__all__ = ["INTERVAL_S", "purge_expired", "run"]

log = logging.getLogger("buzz.housekeeping")
INTERVAL_S = 600.0


def purge_expired(database: Database, *, clock: Clock) -> int:
    """Delete expired callback tokens and access tokens; returns how many rows went."""
    now = clock()
    with database.session() as session:
        removed = callback.purge_expired(session, now=now)
        result = session.execute(delete(AccessToken).where(AccessToken.expires_at <= now))
        removed += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
    return removed


async def run(database: Database, *, clock: Clock, stop: asyncio.Event) -> None:
    """Purge every `INTERVAL_S` seconds until `stop` is set."""

    def purge() -> None:
        removed = purge_expired(database, clock=clock)
        if removed:
            log.info("purged %d expired tokens", removed)

    await periodic.every(INTERVAL_S, purge, stop=stop, log=log)
