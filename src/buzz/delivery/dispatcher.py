"""The dispatcher: claims due deliveries, POSTs them signed, records what happened (SPEC §4.2).

One asyncio task per process, sending through the process's one `Poster`. Database work
(claims, outcome batches) runs on threads so the event loop only ever waits on the network. It
wakes when a transaction that enqueued commits (in this process through `Wakers`, in others
through PostgreSQL NOTIFY) and polls once a second anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from buzz.clock import Clock, system_clock
from buzz.db import Database
from buzz.delivery import claims, metrics, outbox
from buzz.delivery.attempts import attempt
from buzz.delivery.claims import AttemptOutcome, Claimed
from buzz.delivery.poster import Poster
from buzz.settings import Settings

__all__ = ["Dispatcher"]

log = logging.getLogger("buzz.dispatcher")

CLAIM_BATCH = 500
CLAIM_MIN = 128
RECORD_RETRY_S = (0.25, 0.5, 1.0, 2.0, 5.0)  # waits between tries to record kept outcomes
HOST_BUFFER = 8  # claimed deliveries a host may have waiting, in multiples of its in-flight limit
POLL_INTERVAL_S = 1.0
SHUTDOWN_GRACE_S = 10.0


class Dispatcher:
    """Delivers the outbox of one database, from one process."""

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        poster: Poster,
        wakers: outbox.Wakers | None = None,
        hurry: asyncio.Event | None = None,
        clock: Clock = system_clock,
        wall_clock: Clock = system_clock,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        # Signature timestamps are checked by receivers against real time, whatever `clock` says.
        self.wall_clock = wall_clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.poster = poster
        self.wakers = wakers
        # Set while stopping (a second Ctrl-C): hand back what is in flight instead of waiting.
        self.hurry = hurry
        self.concurrency = settings.dispatch_concurrency
        self.per_host = settings.dispatch_per_host
        # Claimed deliveries wait here for a slot: in all, and per host (so claims are large,
        # yet one slow host cannot hold everything). A lease must outlast the longest wait: a
        # full host buffer sent per_host at a time, each attempt up to the timeout.
        self.buffer_limit = max(self.concurrency, CLAIM_BATCH) * 2
        self.host_buffer = self.per_host * HOST_BUFFER
        self.lease = timedelta(seconds=settings.dispatch_timeout_s * (HOST_BUFFER + 2) + 30)
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[Claimed]] = {}
        self._waiting_count = 0
        self._tasks: dict[asyncio.Task[None], Claimed] = {}
        self._outcomes: list[AttemptOutcome] = []
        self._overflow: list[Claimed] = []
        self._slot_freed = asyncio.Event()

    # ---- one pass, for tests and `buzz.testing` ----------------------------------------------

    async def drain(self) -> list[AttemptOutcome]:
        """Send everything due now, once each, and record it; returns the outcomes."""
        done: list[AttemptOutcome] = []
        try:
            while claimed := await asyncio.to_thread(self._claim, CLAIM_BATCH):
                for item in claimed:
                    self._start(item)
                await self._release_overflow()
                await self._wait_for_all()
                batch, self._outcomes = self._outcomes, []
                await asyncio.to_thread(self._record, batch)
                done.extend(batch)
        finally:
            await self.poster.aclose()  # this event loop's connections
        return done

    # ---- the long-running loop ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish in-flight work for 10 s and release the rest."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def waker() -> None:
            loop.call_soon_threadsafe(wake.set)

        if self.wakers is not None:
            self.wakers.add(waker)
        listener = asyncio.create_task(self._listen(wake, stop))
        writer = asyncio.create_task(self._write_outcomes(stop))
        try:
            while not stop.is_set():
                wake.clear()
                self._slot_freed.clear()
                limit = self._claim_limit()
                claimed: list[Claimed] = []
                if limit > 0:
                    try:
                        claimed = await asyncio.to_thread(
                            self._claim, limit, self._saturated_targets()
                        )
                        for item in claimed:
                            self._start(item)
                        await self._release_overflow()
                    except Exception:
                        # The database is away: what was claimed is in hand or comes due again
                        # when its lease ends; poll again shortly.
                        log.exception("claiming due deliveries failed; retrying shortly")
                if claimed and len(claimed) == limit:
                    continue  # more may be due right now
                await _first_of(
                    wake.wait(), stop.wait(), self._slot_freed.wait(), wait_s=POLL_INTERVAL_S
                )
        finally:
            if self.wakers is not None:
                self.wakers.remove(waker)
            listener.cancel()
            await self._shutdown()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await asyncio.to_thread(self._record, self._take_outcomes())

    async def _shutdown(self) -> None:
        waiting = [item for queue in self._waiting.values() for item in queue]
        self._waiting.clear()
        self._waiting_count = 0
        if self._tasks:
            log.warning(
                "stopping: %d deliveries in flight get up to %g s to finish",
                len(self._tasks),
                SHUTDOWN_GRACE_S,
            )
            waits: list[asyncio.Future[Any]] = [
                asyncio.ensure_future(asyncio.wait(list(self._tasks)))
            ]
            if self.hurry is not None:
                waits.append(asyncio.ensure_future(self.hurry.wait()))
            try:
                await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_S, return_when="FIRST_COMPLETED")
            finally:
                for wait in waits:
                    wait.cancel()
            unfinished = {task for task in self._tasks if not task.done()}
            for task in unfinished:
                waiting.append(self._tasks[task])
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*unfinished, return_exceptions=True)
        if waiting:
            await asyncio.to_thread(self._release, waiting)
            log.info("released %d deliveries on shutdown", len(waiting))

    async def _write_outcomes(self, stop: asyncio.Event) -> None:
        """Record outcomes every 20 ms; while the database is away, keep them and retry.

        A delivery whose outcome is never recorded is sent again when its lease ends (at least
        once); keeping the outcome until the database is back spares the receiver that
        duplicate. Recording late is safe: the lease token fences a claim that was taken over.
        """
        failures = 0
        while True:
            await asyncio.sleep(0.02 if failures == 0 else RECORD_RETRY_S[min(failures, 5) - 1])
            batch = self._take_outcomes()
            if not batch:
                continue
            try:
                await asyncio.to_thread(self._record, batch)
            except Exception as exc:
                self._outcomes[:0] = batch  # before what came in meanwhile
                failures += 1
                if failures == 1:
                    log.exception("recording %d outcomes failed; keeping them to retry", len(batch))
                else:
                    log.warning(
                        "recording %d outcomes failed again (%s); retrying",
                        len(batch),
                        exc.__class__.__name__,
                    )
            else:
                if failures:
                    log.info("recorded %d outcomes after %d failed tries", len(batch), failures)
                failures = 0

    def _take_outcomes(self) -> list[AttemptOutcome]:
        batch, self._outcomes = self._outcomes, []
        return batch

    async def _listen(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """On PostgreSQL, wake on NOTIFY from other processes' commits."""
        if self.database.url.get_backend_name() != "postgresql":
            return
        import psycopg

        dsn = self.database.url.set(drivername="postgresql").render_as_string(False)
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
                    async for _ in conn.notifies():
                        wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll still runs; try to listen again soon
                log.warning("LISTEN failed (%s); polling until it is back", exc.__class__.__name__)
                await asyncio.sleep(5)

    # ---- per-host fairness -------------------------------------------------------------------

    def _held(self) -> int:
        return len(self._tasks) + self._waiting_count

    def _claim_limit(self) -> int:
        """How many to claim now: what the buffer holds, in batches a host's buffer can take."""
        return min(self.buffer_limit - self._held(), CLAIM_BATCH, self.host_buffer // 2)

    def _start(self, item: Claimed) -> None:
        host = item.host
        if self._running[host] < self.per_host and len(self._tasks) < self.concurrency:
            self._spawn(host, item)
            return
        queue = self._waiting.setdefault(host, deque())
        if len(queue) < self.host_buffer:
            queue.append(item)
            self._waiting_count += 1
        else:
            # One slow host may not hold the whole budget: hand the rest back for later.
            self._overflow.append(item)

    def _spawn(self, host: str, item: Claimed) -> None:
        self._running[host] += 1
        task = asyncio.create_task(self._deliver(item))
        self._tasks[task] = item
        task.add_done_callback(lambda t: self._finished(t, host))

    def _saturated_targets(self) -> frozenset[str]:
        """Targets whose host still has half a buffer waiting: claiming more would only churn."""
        return frozenset(
            item.target_id
            for queue in self._waiting.values()
            if len(queue) >= self.host_buffer // 2
            for item in queue
        )

    def _pump(self, first: str) -> None:
        """Start waiting deliveries while slots are free: `first`'s host, then the others."""
        for host in [first, *(h for h in self._waiting if h != first)]:
            if len(self._tasks) >= self.concurrency:
                return
            queue = self._waiting.get(host)
            while queue and self._running[host] < self.per_host:
                if len(self._tasks) >= self.concurrency:
                    return
                self._waiting_count -= 1
                self._spawn(host, queue.popleft())
            if queue is not None and not queue:
                del self._waiting[host]

    def _finished(self, task: asyncio.Task[None], host: str) -> None:
        self._tasks.pop(task, None)
        self._running[host] -= 1
        self._pump(host)
        # Claim again when room for a useful batch opens up, or a host's buffer is half
        # drained; not on every completion, which would mostly query for nothing.
        queue = self._waiting.get(host)
        room = self.buffer_limit - self._held()
        if room == CLAIM_MIN or (queue is not None and len(queue) == self.host_buffer // 2 - 1):
            self._slot_freed.set()

    async def _release_overflow(self) -> None:
        if self._overflow:
            items, self._overflow = self._overflow, []
            await asyncio.to_thread(self._release, items)

    async def _wait_for_all(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    # ---- one attempt -------------------------------------------------------------------------

    async def _deliver(self, item: Claimed) -> None:
        headers = item.headers_at(int(self.wall_clock().timestamp()))
        result = await attempt(
            self.poster, item.url, payload=item.payload, headers=headers, clock=self.clock
        )
        outcome = AttemptOutcome.of(item, result)
        metrics.observe_attempt(outcome, now=self.wall_clock())
        self._outcomes.append(outcome)

    # ---- database work, on threads -----------------------------------------------------------

    def _claim(self, limit: int, skip_targets: frozenset[str] = frozenset()) -> list[Claimed]:
        with self.database.session() as session:
            claimed = claims.claim_due(
                session, now=self.clock(), limit=limit, lease=self.lease, skip_targets=skip_targets
            )
            session.commit()
            return claimed

    def _record(self, outcomes: list[AttemptOutcome]) -> None:
        if not outcomes:
            return
        with self.database.session() as session:
            claims.record_outcomes(session, outcomes, now=self.clock(), rng=self.rng)
            session.commit()

    def _release(self, items: list[Claimed]) -> None:
        with self.database.session() as session:
            claims.release(session, items, now=self.clock())
            session.commit()


async def _first_of(*waits: Coroutine[Any, Any, Any], wait_s: float) -> None:
    """Return when any of `waits` completes, or after `wait_s` seconds."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
