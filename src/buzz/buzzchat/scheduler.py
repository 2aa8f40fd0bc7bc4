"""The bot's clock (SPEC §3.5): sends due messages and timers, beside the dispatcher."""

from __future__ import annotations

import asyncio
import logging

from buzz.buzzchat import bot
from buzz.clock import Clock
from buzz.db import Database
from buzz.ops import periodic

__all__ = ["INTERVAL_S", "run", "run_once"]

log = logging.getLogger("buzz.bot")
INTERVAL_S = 1.0


def run_once(database: Database, *, clock: Clock) -> list[bot.SentMessage]:
    """Send everything of every bot that is due now, in batches; returns what went out."""
    sent: list[bot.SentMessage] = []
    while True:
        with database.session() as session:
            batch = bot.run_due(session, now=clock())
            session.commit()
        sent.extend(batch)
        if len(batch) < bot.DUE_BATCH:
            return sent


async def run(database: Database, *, clock: Clock, stop: asyncio.Event) -> None:
    """Every second until `stop` is set."""
    await periodic.every(INTERVAL_S, lambda: run_once(database, clock=clock), stop=stop, log=log)
