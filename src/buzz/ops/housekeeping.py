"""Housekeeping, run beside the dispatcher: each domain's purge of what can no longer be used.

The domains own their purges (expired access tokens, callback tokens); the app hands them here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from buzz.clock import Clock
from buzz.db import Database
from buzz.ops import periodic

__all__ = ["INTERVAL_S", "Housekeeping", "Purge"]

log = logging.getLogger("buzz.housekeeping")
INTERVAL_S = 600.0


class Purge(Protocol):
    """A domain's purge: deletes what expired by `now` in the caller's transaction; returns how
    many rows went."""

    def __call__(self, session: Session, *, now: datetime) -> int: ...


MAX_BATCHES = 200  # per purge and run: a backlog is worked off over a few runs, not in one


class Housekeeping:
    """Runs the domains' purges now and then, all in one transaction."""

    def __init__(self, database: Database, *, purges: Sequence[Purge], clock: Clock) -> None:
        self.database = database
        self.purges = tuple(purges)
        self.clock = clock

    def purge_expired(self) -> int:
        """Run every purge; returns how many rows went in all. A purge with a `batch` size runs
        in transactions of at most that many rows, again while a batch comes back full."""
        now = self.clock()
        removed = 0
        for purge in self.purges:
            batch = getattr(purge, "batch", None)
            for _ in range(MAX_BATCHES if batch else 1):
                with self.database.session() as session:
                    went = purge(session, now=now)
                    session.commit()
                removed += went
                if not batch or went < batch:
                    break
        return removed

    async def run(self, stop: asyncio.Event) -> None:
        """Purge every `INTERVAL_S` seconds until `stop` is set."""

        def purge() -> None:
            removed = self.purge_expired()
            if removed:
                log.info("purged %d expired rows", removed)

        await periodic.every(INTERVAL_S, purge, stop=stop, log=log)
