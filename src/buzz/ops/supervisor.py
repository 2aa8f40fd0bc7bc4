"""Supervised background tasks (SPEC §1.4): each is named, logs when it fails, restarts with
backoff, and `/readyz` says which one is down.

A task is a coroutine function taking the stop event; it should run until the event is set.
Ending early, or raising, counts as a failure: the supervisor logs it, marks the task down, waits
(1 s, doubling to 30 s, cut short by stop) and starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from buzz.state import StateKey

__all__ = ["BACKOFF_S", "SUPERVISOR", "Supervisor", "Task"]

log = logging.getLogger("buzz.supervisor")
Task = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class Supervisor:
    """Runs named tasks until stopped, restarting any that fail."""

    def __init__(self, tasks: dict[str, Task], *, backoff_s: Sequence[float] = BACKOFF_S) -> None:
        self.tasks = dict(tasks)
        self.backoff_s = tuple(backoff_s) or (0.0,)
        self._down: dict[str, str] = {}
        self.restarts: dict[str, int] = dict.fromkeys(self.tasks, 0)

    def down(self) -> dict[str, str]:
        """The tasks not running now, with why."""
        return dict(self._down)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every task until `stop` is set and they have all returned."""
        await asyncio.gather(*(self._keep(name, task, stop) for name, task in self.tasks.items()))

    async def _keep(self, name: str, task: Task, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await task(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
                log.exception("background task %s failed; restarting", name)
            else:
                if stop.is_set():
                    return
                why = "it returned before the service stopped"
                log.error("background task %s ended unexpectedly; restarting", name)
            self._down[name] = why
            delay = self.backoff_s[min(failures, len(self.backoff_s) - 1)]
            failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if not stop.is_set():
                self.restarts[name] += 1
                log.warning("restarting background task %s (restart %d)", name, failures)
            self._down.pop(name, None)


SUPERVISOR: StateKey[Supervisor | None] = StateKey("supervisor")
