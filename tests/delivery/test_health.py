"""`log.health`: how each target fared over a window (the portal's "delivered and failed in
24 h") and the last answer it gave, whenever that was."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from buzz.clock import ManualClock
from buzz.delivery import log
from tests.delivery.conftest import Deliver, FakeReceiver, OutboxTables


def health(app: FastAPI, target_ids: list[str], clock: ManualClock) -> dict[str, log.Health]:
    with app.state.database.session() as session:
        return log.health(session, target_ids, since=clock() - timedelta(hours=24))


def test_health_counts_the_windows_deliveries_and_keeps_the_last_answer(
    app: FastAPI,
    outbox_tables: OutboxTables,
    deliver: Deliver,
    fake_receiver: FakeReceiver,
    clock: ManualClock,
) -> None:
    ours = outbox_tables.add_target("https://hooks.example.com/ours")
    quiet = outbox_tables.add_target("https://hooks.example.com/quiet")
    outbox_tables.enqueue(ours, 2)
    deliver(poster=fake_receiver.poster())
    clock.advance(hours=1)
    fake_receiver.respond_with(503)
    outbox_tables.enqueue(ours, 1)
    deliver(poster=fake_receiver.poster())

    now = health(app, [ours, quiet], clock)

    assert (now[ours].delivered, now[ours].failed) == (2, 0)  # the 503 is pending a retry
    assert now[ours].last_response_code == 503
    assert now[ours].last_attempt_at == clock()
    assert now[quiet] == log.Health()
    clock.advance(hours=24)
    later = health(app, [ours], clock)[ours]
    assert (later.delivered, later.failed) == (0, 0)  # made more than 24 h ago
    assert later.last_response_code == 503  # the last answer stays, however old
    assert health(app, [], clock) == {}
