"""A task that runs a piece of database work now and then every few seconds, beside the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

__all__ = ["every"]


async def every(
    interval_s: float, work: Callable[[], object], *, stop: asyncio.Event, log: logging.Logger
) -> None:
    """Run `work` on a thread, then every `interval_s` until `stop` is set; failures are logged."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed; trying again later", log.name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
