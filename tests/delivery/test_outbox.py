"""The outbox's leases (SPEC §4.1, §4.2): claimed rows are leased, a dead worker's lease runs out,
released rows are due at once, inactive targets are skipped, and on PostgreSQL concurrent workers
never share a delivery."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from buzz.clock import ManualClock
from buzz.delivery import claims
from buzz.delivery import dispatcher as dispatcher_module
from buzz.delivery.claims import Claimed, DeliveryRetention
from buzz.delivery.dispatcher import Dispatcher
from buzz.delivery.poster import POSTER
from buzz.ops.housekeeping import Housekeeping
from tests.conftest import ON_POSTGRES
from tests.delivery.conftest import Deliver, OutboxTables
from tests.support.https_receiver import HttpsReceiver

LEASE = timedelta(minutes=1)
ONLY_ON_POSTGRES = pytest.mark.skipif(
    not ON_POSTGRES, reason="concurrent workers need PostgreSQL (SQLite runs one worker)"
)


def claim(tables: OutboxTables, *, limit: int = 100, lease: timedelta = LEASE) -> list[Claimed]:
    """One worker's claim, committed, as of the app's clock."""
    with tables.database.session() as session:
        claimed = claims.claim_due(session, now=tables.clock(), limit=limit, lease=lease)
        session.commit()
        return claimed


def release(tables: OutboxTables, claimed: list[Claimed]) -> None:
    with tables.database.session() as session:
        claims.release(session, claimed, now=tables.clock())
        session.commit()


def dispatcher_of(app: FastAPI) -> Dispatcher:
    """A dispatcher of this app, on its database, settings, poster and clock."""
    return Dispatcher(
        database=app.state.database,
        settings=app.state.settings,
        poster=POSTER.of(app),
        clock=app.state.clock,
        rng=random.Random(1),
    )


def worker_lease(app: FastAPI) -> timedelta:
    """The lease a dispatcher of this app takes on what it claims."""
    return dispatcher_of(app).lease


def test_a_claim_leases_its_rows_so_a_second_claim_gets_nothing(
    outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    event_ids = outbox_tables.enqueue(target_id, 3)

    claimed = claim(outbox_tables)

    assert [c.event_id for c in claimed] == event_ids
    assert [c.payload for c in claimed] == [f'{{"id": "{e}"}}'.encode() for e in event_ids]
    assert {c.url for c in claimed} == {"https://hooks.example.com/a"}
    assert claim(outbox_tables) == []
    for delivery in outbox_tables.deliveries(target_id):
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        assert delivery.next_attempt_at == clock() + LEASE


def test_claims_take_at_most_the_limit_oldest_due_first(
    outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    older = outbox_tables.enqueue(target_id, 2)
    clock.advance(seconds=1)
    newer = outbox_tables.enqueue(outbox_tables.add_target("https://hooks.example.com/b"), 2)

    first = claim(outbox_tables, limit=3)
    rest = claim(outbox_tables, limit=3)

    assert [c.event_id for c in first] == [*older, newer[0]]
    assert [c.event_id for c in rest] == [newer[1]]


def test_a_worker_that_dies_after_claiming_loses_nothing_once_the_lease_has_passed(
    app: FastAPI,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    clock: ManualClock,
) -> None:
    target_id = outbox_tables.add_target(https_receiver.url())
    [event_id] = outbox_tables.enqueue(target_id)
    lease = worker_lease(app)
    claim(outbox_tables, lease=lease)  # ... and the worker is never heard of again

    assert deliver() == []
    clock.advance(seconds=lease.total_seconds() - 1)
    assert deliver() == []
    clock.advance(seconds=2)
    assert len(deliver()) == 1

    [delivery] = outbox_tables.deliveries(target_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert [r.headers["webhook-id"] for r in https_receiver.requests] == [event_id]


def test_release_makes_deliveries_due_now_without_counting_an_attempt(
    outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    outbox_tables.enqueue(target_id, 2)
    claimed = claim(outbox_tables)
    clock.advance(seconds=5)

    release(outbox_tables, claimed)

    for delivery in outbox_tables.deliveries(target_id):
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            "pending",
            0,
            clock(),
        )
        assert outbox_tables.attempts(delivery.id) == []
    assert [c.id for c in claim(outbox_tables)] == [c.id for c in claimed]


def test_release_leaves_a_finished_delivery_alone(
    https_receiver: HttpsReceiver, outbox_tables: OutboxTables, deliver: Deliver
) -> None:
    target_id = outbox_tables.add_target(https_receiver.url())
    outbox_tables.enqueue(target_id)
    [outcome] = deliver()

    release(outbox_tables, [outcome.delivery])

    [delivery] = outbox_tables.deliveries(target_id)
    assert (delivery.status, delivery.next_attempt_at) == ("delivered", None)
    assert deliver() == []


def test_claims_skip_inactive_targets(outbox_tables: OutboxTables) -> None:
    active = outbox_tables.add_target("https://hooks.example.com/on")
    inactive = outbox_tables.add_target("https://hooks.example.com/off")
    wanted = outbox_tables.enqueue(active, 2)
    outbox_tables.enqueue(inactive, 2)
    outbox_tables.deactivate(inactive)

    assert [c.event_id for c in claim(outbox_tables)] == wanted
    assert all(d.next_attempt_at is not None for d in outbox_tables.deliveries(inactive))
    assert claim(outbox_tables) == []


# ---- several workers on PostgreSQL ------------------------------------------------------------


def run_in_parallel(job: Callable[[], None], *, count: int = 2) -> None:
    """Run `job()` in `count` threads started together; re-raise the first failure."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run() -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # surfaced in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread did not finish"
    if errors:
        raise errors[0]


@ONLY_ON_POSTGRES
def test_concurrent_claims_never_lease_one_delivery_twice(outbox_tables: OutboxTables) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    outbox_tables.enqueue(target_id, 300)
    claimed_ids: list[int] = []
    lock = threading.Lock()

    def claim_until_empty() -> None:
        while batch := claim(outbox_tables, limit=7):
            with lock:
                claimed_ids.extend(c.id for c in batch)

    run_in_parallel(claim_until_empty)

    assert len(claimed_ids) == 300
    assert {d.id for d in outbox_tables.deliveries(target_id)} == set(claimed_ids)


@ONLY_ON_POSTGRES
def test_two_dispatchers_draining_one_queue_deliver_each_event_exactly_once(
    app: FastAPI,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target_id = outbox_tables.add_target(https_receiver.url())
    event_ids = outbox_tables.enqueue(target_id, 300)
    monkeypatch.setattr(dispatcher_module, "CLAIM_BATCH", 10)  # many claims, interleaved

    def drain() -> None:
        dispatcher = dispatcher_of(app)
        asyncio.run(dispatcher.drain())

    run_in_parallel(drain)

    received = Counter(r.headers["webhook-id"] for r in https_receiver.requests)
    assert received == Counter(event_ids)  # every event once, none twice
    for delivery in outbox_tables.deliveries(target_id):
        assert (delivery.status, delivery.attempts) == ("delivered", 1)
        assert len(outbox_tables.attempts(delivery.id)) == 1


# ---- lease fencing (SPEC §4.2) -----------------------------------------------------------------


def record(tables: OutboxTables, claimed: Claimed, **result: object) -> None:
    """Record one attempt of `claimed`, made now, as its worker would."""
    outcome = claims.AttemptOutcome(
        delivery=claimed,
        at=tables.clock(),
        duration_ms=5,
        **result,  # type: ignore[arg-type]
    )
    with tables.database.session() as session:
        claims.record_outcomes(session, [outcome], now=tables.clock(), rng=random.Random(0))
        session.commit()


def test_a_worker_that_outlived_its_lease_cannot_overwrite_the_newer_claim(
    outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    outbox_tables.enqueue(target_id)
    [stale] = claim(outbox_tables)
    clock.advance(minutes=2)  # the first worker stalls past its lease
    [fresh] = claim(outbox_tables)
    assert (fresh.id, fresh.lease != stale.lease) == (stale.id, True)

    record(outbox_tables, fresh, response_code=200)
    clock.advance(seconds=1)
    record(outbox_tables, stale, response_code=500, error="HTTP 500")  # it finally answers

    [delivery] = outbox_tables.deliveries(target_id)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (
        "delivered",
        1,
        200,
    )
    # Both POSTs happened, so both are in the log; only the holder's outcome counted.
    assert [a.response_code for a in outbox_tables.attempts(delivery.id)] == [200, 500]
    assert outbox_tables.target(target_id).failing_since is None


def test_a_stale_release_leaves_the_newer_claim_alone(
    outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    outbox_tables.enqueue(target_id)
    [stale] = claim(outbox_tables)
    clock.advance(minutes=2)
    [fresh] = claim(outbox_tables)
    held_until = outbox_tables.deliveries(target_id)[0].next_attempt_at

    release(outbox_tables, [stale])

    assert outbox_tables.deliveries(target_id)[0].next_attempt_at == held_until
    assert claim(outbox_tables) == []  # still the newer claim's
    record(outbox_tables, fresh, response_code=204)
    assert outbox_tables.deliveries(target_id)[0].status == "delivered"


def test_an_outcome_the_database_refused_is_kept_and_recorded_once_it_is_back(
    app: FastAPI,
    https_receiver: HttpsReceiver,
    outbox_tables: OutboxTables,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target_id = outbox_tables.add_target(https_receiver.url())
    outbox_tables.enqueue(target_id)
    refusals = 2
    record_outcomes = claims.record_outcomes

    def database_away_at_first(*args: object, **kwargs: object) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise OperationalError(
                "UPDATE deliveries", {}, Exception("server closed the connection")
            )
        record_outcomes(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(claims, "record_outcomes", database_away_at_first)
    monkeypatch.setattr(dispatcher_module, "RECORD_RETRY_S", (0.01,) * 5)
    dispatcher = dispatcher_of(app)

    async def run_until_recorded() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        for _ in range(500):  # a few hundred ms; 10 s on a loaded machine
            await asyncio.sleep(0.02)
            if refusals == 0 and outbox_tables.deliveries(target_id)[0].status == "delivered":
                break
        stop.set()
        await running
        await POSTER.of(app).aclose()  # this event loop's connections

    asyncio.run(run_until_recorded())

    [delivery] = outbox_tables.deliveries(target_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert len(outbox_tables.attempts(delivery.id)) == 1
    assert len(https_receiver.requests) == 1  # recorded late, never sent twice


# ---- retention (SPEC §4.5) --------------------------------------------------------------------


def test_finished_deliveries_past_retention_are_purged_in_batches(
    app: FastAPI, outbox_tables: OutboxTables, clock: ManualClock
) -> None:
    target_id = outbox_tables.add_target("https://hooks.example.com/a")
    outbox_tables.enqueue(target_id, 5)
    finished = claim(outbox_tables, limit=4)
    for n, item in enumerate(finished):
        record(outbox_tables, item, response_code=200 if n % 2 else 410)
    clock.advance(days=20)
    outbox_tables.enqueue(target_id, 1)  # younger: kept
    clock.advance(days=11)  # the first five are 31 days old; one of them never finished

    housekeeping = Housekeeping(
        app.state.database, purges=[DeliveryRetention(days=30, batch=3)], clock=clock
    )
    assert housekeeping.purge_expired() == 4  # two batches: 3, then 1

    left = outbox_tables.deliveries(target_id)
    assert [(d.status, d.created_at < clock() - timedelta(days=30)) for d in left] == [
        ("pending", True),  # never purged while pending
        ("pending", False),
    ]
    assert all(outbox_tables.attempts(item.id) == [] for item in finished)
    assert housekeeping.purge_expired() == 0
