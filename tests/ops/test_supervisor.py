"""Background tasks are supervised (SPEC §1.4): a failure is logged, the task restarts after a
backoff, and `/readyz` names a task that is down meanwhile."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.ops.supervisor import SUPERVISOR, Supervisor


def test_a_failing_task_is_logged_and_restarted_until_it_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    starts = {"flaky": 0, "early": 0}

    async def flaky(stop: asyncio.Event) -> None:
        starts["flaky"] += 1
        if starts["flaky"] <= 2:
            raise RuntimeError(f"database went away ({starts['flaky']})")
        await stop.wait()

    async def ends_early(stop: asyncio.Event) -> None:
        starts["early"] += 1
        if starts["early"] < 2:
            return
        await stop.wait()

    supervisor = Supervisor({"flaky": flaky, "early": ends_early}, backoff_s=(0.0,))
    seen_down: list[dict[str, str]] = []

    async def main() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(supervisor.run(stop))
        for _ in range(200):
            await asyncio.sleep(0)
            if down := supervisor.down():
                seen_down.append(down)
            if starts == {"flaky": 3, "early": 2}:
                break
        stop.set()
        await running

    with caplog.at_level(logging.WARNING, logger="buzz.supervisor"):
        asyncio.run(main())

    assert supervisor.restarts == {"flaky": 2, "early": 1}
    assert supervisor.down() == {}
    assert any("RuntimeError: database went away" in d.get("flaky", "") for d in seen_down)
    assert any("returned before the service stopped" in d.get("early", "") for d in seen_down)
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert sorted(r.getMessage() for r in failed) == [
        "background task early ended unexpectedly; restarting",
        "background task flaky failed; restarting",
        "background task flaky failed; restarting",
    ]
    assert all(r.exc_info for r in failed if "failed" in r.getMessage())


def test_stop_during_a_backoff_ends_the_task_at_once() -> None:
    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("always")

    supervisor = Supervisor({"broken": broken}, backoff_s=(3600.0,))

    async def main() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(supervisor.run(stop))
        for _ in range(100):
            if supervisor.down():
                break
            await asyncio.sleep(0)
        assert supervisor.down() == {"broken": "RuntimeError: always"}
        stop.set()
        await asyncio.wait_for(running, 5)  # not an hour

    asyncio.run(main())
    assert supervisor.restarts == {"broken": 0}


def test_readyz_names_a_background_task_that_is_down(app: FastAPI, client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    supervisor = Supervisor({})
    supervisor._down["dispatcher"] = "OperationalError: server closed the connection"
    SUPERVISOR.put(app, supervisor)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "background task dispatcher is down "
        "(OperationalError: server closed the connection)",
    }
