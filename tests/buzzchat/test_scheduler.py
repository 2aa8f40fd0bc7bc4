"""The bot's scheduler: due messages go out once, in batches, from any number of workers."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from buzz.buzzchat import bot, scheduler
from buzz.buzzchat.models import Account, BotMessage, DailyMessageCount, MessageKind
from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, ok, start_bot
from tests.conftest import ON_POSTGRES


def plan_later(app: FastAPI, shop: SeededSubscriber, count: int, *, seconds: int = 60) -> None:
    """`count` API messages due `seconds` from now, written straight through the service."""
    now = app.state.clock()
    with app.state.database.session() as session:
        account = session.scalar(select(Account).where(Account.id == shop.account_id))
        assert account is not None
        for n in range(count):
            bot.plan_message(
                session,
                account=account,
                kind=MessageKind.API,
                text=f"message {n}",
                send_at=now + timedelta(seconds=seconds),
                now=now,
            )
        session.commit()


def sent_and_counted(app: FastAPI) -> tuple[int, int]:
    """(messages stored as sent, messages the daily counters counted)."""
    with app.state.database.session() as session:
        sent = session.scalar(
            select(func.count()).select_from(BotMessage).where(BotMessage.status == "sent")
        )
        counted = session.scalar(select(func.coalesce(func.sum(DailyMessageCount.count), 0)))
        return int(sent or 0), int(counted or 0)


def test_nothing_is_sent_before_it_is_due(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    plan_later(app, shop, 3)
    clock.advance(seconds=59)
    assert scheduler.run_once(app.state.database, clock=clock) == []
    assert sent_and_counted(app) == (0, 0)


def test_run_once_sends_everything_due_in_batches(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    plan_later(app, shop, bot.DUE_BATCH + 20)
    clock.advance(seconds=60)
    sent = scheduler.run_once(app.state.database, clock=clock)
    assert len(sent) == bot.DUE_BATCH + 20
    assert len({m.id for m in sent}) == bot.DUE_BATCH + 20
    assert sent_and_counted(app) == (bot.DUE_BATCH + 20, bot.DUE_BATCH + 20)
    assert scheduler.run_once(app.state.database, clock=clock) == []


def test_the_embedded_scheduler_sends_due_messages(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    ok(
        client.post(
            f"{API}/messages/send", json={"message": "Later", "delay": 1000}, headers=shop.headers
        )
    )
    clock.advance(seconds=1)

    async def one_pass() -> None:
        # The test's thread stays off the shared in-memory connection while the pass runs: the
        # scheduler's clock asks it to stop, and the loop ends after that pass.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def clock_then_stop() -> datetime:
            loop.call_soon_threadsafe(stop.set)
            return clock()

        await asyncio.wait_for(
            scheduler.run(app.state.database, clock=clock_then_stop, stop=stop), 30
        )

    asyncio.run(one_pass())
    messages = ok(client.get(f"{API}/messages", params={"status": "sent"}, headers=shop.headers))
    assert [m["message"] for m in messages["messages"]] == ["Later"]


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent workers need PostgreSQL (SQLite runs one)")
def test_concurrent_schedulers_send_each_message_once(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    plan_later(app, shop, 1200)
    clock.advance(seconds=60)
    results: list[list[bot.SentMessage]] = []
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()
        results.append(scheduler.run_once(app.state.database, clock=clock))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [m.id for batch in results for m in batch]
    assert len(ids) == len(set(ids)) == 1200
    assert sent_and_counted(app) == (1200, 1200)
