"""The dispatcher as operators run it (SPEC §1.3, §1.4, §4.2): inside `buzz serve`, alone as
`buzz worker` (SIGTERM drains it), and what `/metrics` reports. Real processes, a real HTTPS
receiver; the polls below wait for an outcome, they time nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from buzz.app import create_app
from buzz.clock import ManualClock
from buzz.db import Database, sync_url
from buzz.delivery.models import Delivery
from buzz.models import load_all_models
from buzz.settings import Settings
from buzz.testing import HttpxPoster, SeededUser, deliver_due, seed_user
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, sqlite_file_database
from tests.integrations.helpers import make_channel, make_integration, make_subscription
from tests.serving import buzz_serve
from tests.support.https_receiver import HttpsReceiver

T = TypeVar("T")
METRICS = (
    "buzz_delivery_attempts_total",
    "buzz_delivery_latency_seconds",
    "buzz_delivery_queue_depth",
    "buzz_delivery_oldest_due_age_seconds",
    "buzz_http_requests_total",
)


@pytest.fixture
def receiver() -> Iterator[HttpsReceiver]:
    with HttpsReceiver() as rx:
        yield rx


def wait_for(outcome: Callable[[], T], *, within_s: float = 10) -> T:
    """Poll until `outcome()` is truthy and return it; fail if it never is."""
    deadline = time.monotonic() + within_s
    while not (value := outcome()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no outcome within {within_s} s")
        time.sleep(0.05)
    return value


def reaching(receiver: HttpsReceiver) -> dict[str, str]:
    """The environment that lets a process deliver to the local receiver."""
    return {"BUZZ_ALLOW_PRIVATE_TARGETS": "true", "BUZZ_DISPATCH_CA_BUNDLE": receiver.ca_pem_path}


def migrated_sqlite(tmp_path: Path) -> str:
    return sqlite_file_database(tmp_path / "buzz.db", migrate=True)


@contextmanager
def app_on(database_url: str) -> Iterator[tuple[FastAPI, TestClient]]:
    """An in-process app (no embedded worker, the real clock) on another process's database."""
    settings = Settings(database_url=database_url, embedded_worker=False, _env_file=None)
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


def subscribed_channel(app: FastAPI, client: TestClient, url: str) -> tuple[SeededUser, str]:
    """A user, a public channel of theirs, and an integration posting its messages to `url`."""
    user = seed_user(app, display_name="Wendy Worker")
    channel_id = make_channel(client, user)
    integration = make_integration(client, user)
    make_subscription(client, user, integration["id"], url=url)
    return user, channel_id


def post_message(client: httpx.Client, user: SeededUser, channel_id: str, text: str) -> None:
    response = client.post(
        f"/v1/buzz/channels/{channel_id}/messages", json={"text": text}, headers=user.headers
    )
    assert response.status_code == 201, response.text


def enqueue_one(database_url: str, receiver: HttpsReceiver, text: str = "queued") -> None:
    """One message posted in-process: one pending delivery to `receiver`."""
    with app_on(database_url) as (app, client):
        user, channel_id = subscribed_channel(app, client, receiver.url())
        post_message(client, user, channel_id, text)


def deliveries_in(database_url: str) -> list[Delivery]:
    load_all_models()
    database = Database(database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.id)))
    finally:
        database.dispose()


def statuses_in(database_url: str) -> list[str]:
    return [d.status for d in deliveries_in(database_url)]


@contextmanager
def buzz_worker(
    tmp_path: Path, database_url: str, receiver: HttpsReceiver, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m buzz worker` on `database_url`, reaching `receiver`; stopped on exit."""
    log = (tmp_path / "worker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "buzz", "worker"],
        env={**os.environ, "BUZZ_DATABASE_URL": database_url, **reaching(receiver), **env},
        stdout=log,
        stderr=log,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        log.close()


def terminate(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then the exit code; the process must be gone within 15 s."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=15)


# ---- buzz serve and buzz worker ---------------------------------------------------------------


def test_buzz_serve_with_the_embedded_worker_delivers_a_posted_message(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    with buzz_serve(tmp_path, BUZZ_EMBEDDED_WORKER="true", **reaching(receiver)) as server:
        database_url = server.env["BUZZ_DATABASE_URL"]
        with app_on(database_url) as (app, client):
            user, channel_id = subscribed_channel(app, client, receiver.url("/served"))
        with httpx.Client(base_url=server.base_url) as http:
            post_message(http, user, channel_id, "delivered by buzz serve")

            [received] = wait_for(lambda: receiver.requests)
            assert received.path == "/served"
            assert json.loads(received.body)["message"]["text"] == "delivered by buzz serve"
            wait_for(lambda: statuses_in(database_url) == ["delivered"])
            metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert all(name in metrics.text for name in METRICS)
    assert sample(metrics.text, "buzz_delivery_attempts_total", outcome="delivered") == 1


def test_buzz_worker_delivers_what_another_process_enqueued(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    database_url = migrated_sqlite(tmp_path)
    enqueue_one(database_url, receiver, "from the API process")

    with buzz_worker(tmp_path, database_url, receiver) as worker:
        [received] = wait_for(lambda: receiver.requests)
        wait_for(lambda: statuses_in(database_url) == ["delivered"])
        assert terminate(worker) == 0

    assert json.loads(received.body)["message"]["text"] == "from the API process"
    [delivery] = deliveries_in(database_url)
    assert (delivery.attempts, delivery.last_response_code) == (1, 200)


def test_sigterm_lets_an_in_flight_delivery_finish(tmp_path: Path, receiver: HttpsReceiver) -> None:
    database_url = migrated_sqlite(tmp_path)
    enqueue_one(database_url, receiver)
    receiver.respond_with(200, delay=3)

    with buzz_worker(tmp_path, database_url, receiver) as worker:
        wait_for(lambda: receiver.requests)  # the delivery is in flight
        assert terminate(worker) == 0

    [delivery] = deliveries_in(database_url)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (
        "delivered",
        1,
        200,
    )


def test_sigterm_releases_a_delivery_still_in_flight_after_the_grace_period(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    database_url = migrated_sqlite(tmp_path)
    enqueue_one(database_url, receiver)
    receiver.respond_with(200, delay=120)

    with buzz_worker(tmp_path, database_url, receiver, BUZZ_DISPATCH_TIMEOUT_S="300") as worker:
        wait_for(lambda: receiver.requests)
        assert terminate(worker) == 0

    [delivery] = deliveries_in(database_url)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at <= datetime.now(UTC)  # due again now, not leased
    receiver.respond_with(200)
    with buzz_worker(tmp_path, database_url, receiver) as worker:
        wait_for(lambda: statuses_in(database_url) == ["delivered"])
        assert terminate(worker) == 0
    assert len(receiver.requests) == 2  # at least once: the same event again


@pytest.mark.parametrize(
    ("database", "words"),
    [
        ("sqlite:///{tmp_path}/empty.db", "migrate"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "database"),
    ],
    ids=["unmigrated", "unreachable"],
)
def test_buzz_worker_without_a_usable_database_exits_with_one_line(
    database: str, words: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buzz", "worker"],
        env={**os.environ, "BUZZ_DATABASE_URL": database.format(tmp_path=tmp_path)},
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("buzz: ") and words in lines[0]


# ---- /metrics ----------------------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
    return float(
        sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name and labels.items() <= s.labels.items()
        )
    )


def scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text: str = response.text
    return text


def test_metrics_count_requests_and_deliveries_and_show_the_queue(
    app: FastAPI, client: TestClient, alice: SeededUser, clock: ManualClock
) -> None:
    channel_id = make_channel(client, alice)
    integration = make_integration(client, alice)
    make_subscription(client, alice, integration["id"])
    for n in range(3):
        post_message(client, alice, channel_id, f"message {n}")
    clock.advance(seconds=30)

    before = scrape(client)

    assert all(name in before for name in METRICS)
    assert sample(before, "buzz_delivery_queue_depth") == 3
    assert sample(before, "buzz_delivery_oldest_due_age_seconds") == 30
    assert sample(before, "buzz_http_requests_total", method="POST", status="201") >= 3
    fake = httpx.MockTransport(lambda request: httpx.Response(200))
    deliver_due(app, poster=HttpxPoster(fake))

    after = scrape(client)

    assert sample(after, "buzz_delivery_queue_depth") == 0
    assert sample(after, "buzz_delivery_oldest_due_age_seconds") == 0
    delivered = "buzz_delivery_attempts_total"
    assert (
        sample(after, delivered, outcome="delivered")
        - sample(before, delivered, outcome="delivered")
        == 3
    )
    latencies = "buzz_delivery_latency_seconds_count"
    assert sample(after, latencies) - sample(before, latencies) == 3
    requests = "buzz_http_requests_total"
    assert sample(after, requests, method="GET", status="200") > sample(
        before, requests, method="GET", status="200"
    )


def test_a_second_ctrl_c_hands_back_in_flight_deliveries_at_once(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    database_url = migrated_sqlite(tmp_path)
    enqueue_one(database_url, receiver)
    receiver.respond_with(200, delay=120)

    with buzz_worker(tmp_path, database_url, receiver, BUZZ_DISPATCH_TIMEOUT_S="300") as worker:
        wait_for(lambda: receiver.requests)
        worker.send_signal(signal.SIGINT)
        log = tmp_path / "worker.log"
        wait_for(lambda: "Ctrl-C again to stop at once" in log.read_text())
        worker.send_signal(signal.SIGINT)
        # Well inside the 10 s a single Ctrl-C would wait for the delivery in flight.
        assert worker.wait(timeout=8) == 0

    text = (tmp_path / "worker.log").read_text()
    assert "stopping: 1 deliveries in flight get up to 10 s to finish" in text
    assert "stopping now: handing the deliveries in flight back to the queue" in text
    [delivery] = deliveries_in(database_url)
    assert (delivery.status, delivery.attempts) == ("pending", 0)


# ---- the database drops every connection (SPEC §1.4) -----------------------------------------


@contextmanager
def own_postgres_database(name: str) -> Iterator[str]:
    """A new, migrated database on the suite's PostgreSQL server, dropped afterwards."""
    server = make_url(sync_url(TEST_DATABASE_URL))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.upgrade()
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_every_connection(database_url: str) -> int:
    """What a PostgreSQL restart does to clients: terminate every backend of the database."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            return int(killed)
    finally:
        engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="terminates PostgreSQL backends")
def test_buzz_worker_delivers_again_after_its_connections_are_killed(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    with own_postgres_database("buzz_test_faults_worker") as url:
        enqueue_one(url, receiver, "before")
        with buzz_worker(tmp_path, url, receiver) as worker:
            wait_for(lambda: statuses_in(url) == ["delivered"])
            assert drop_every_connection(url) >= 2  # its pool and its LISTEN connection
            enqueue_one(url, receiver, "after")
            wait_for(
                lambda: set(statuses_in(url)) == {"delivered"} and len(statuses_in(url)) > 1,
                within_s=60,
            )
            assert worker.poll() is None  # it never died
            assert terminate(worker) == 0
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.requests]
    assert "before" in texts and "after" in texts


@pytest.mark.skipif(not ON_POSTGRES, reason="terminates PostgreSQL backends")
def test_buzz_serve_serves_and_delivers_again_after_its_connections_are_killed(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    with (
        own_postgres_database("buzz_test_faults_serve") as url,
        buzz_serve(
            tmp_path, BUZZ_DATABASE_URL=url, BUZZ_EMBEDDED_WORKER="true", **reaching(receiver)
        ) as server,
    ):
        with app_on(url) as (app, client):
            user, channel_id = subscribed_channel(app, client, receiver.url())
        with httpx.Client(base_url=server.base_url) as live:
            post_message(live, user, channel_id, "before")
            wait_for(lambda: statuses_in(url) == ["delivered"])
            assert drop_every_connection(url) >= 2
            # The next requests may meet a dead pooled connection once; then they are served.
            wait_for(lambda: live.get("/readyz").status_code == 200, within_s=30)
            post_message(live, user, channel_id, "after")
            wait_for(lambda: statuses_in(url) == ["delivered", "delivered"], within_s=60)
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.requests]
    assert texts == ["before", "after"]


# ---- SQLite: the file is briefly unwritable (SPEC §1.4) ---------------------------------------
# Root ignores permission bits, so here another process's exclusive lock, held past the
# service's 5 s busy_timeout, is what makes the file unwritable: every write fails meanwhile.

LOCKED_FOR_S = 7


@contextmanager
def locked_exclusively(database_url: str) -> Iterator[None]:
    """Hold SQLite's EXCLUSIVE lock on the file: no other connection reads or writes it."""
    path = make_url(database_url).database
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def test_buzz_worker_delivers_again_after_the_sqlite_file_was_unwritable(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    url = migrated_sqlite(tmp_path)
    enqueue_one(url, receiver, "before")
    with buzz_worker(tmp_path, url, receiver) as worker:
        wait_for(lambda: statuses_in(url) == ["delivered"])
        with locked_exclusively(url):
            time.sleep(LOCKED_FOR_S)  # a real outage: longer than the worker's busy_timeout
        enqueue_one(url, receiver, "after")  # a second integration: its event reaches both
        wait_for(lambda: statuses_in(url) == ["delivered"] * 3, within_s=30)
        assert worker.poll() is None  # it never died
        assert terminate(worker) == 0
    log = (tmp_path / "worker.log").read_text()
    assert "database is locked" in log  # it did meet the outage
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.requests]
    assert texts == ["before", "after", "after"]


def test_buzz_serve_answers_503_while_the_sqlite_file_is_unwritable_then_serves_again(
    tmp_path: Path, receiver: HttpsReceiver
) -> None:
    with buzz_serve(tmp_path, BUZZ_EMBEDDED_WORKER="true", **reaching(receiver)) as server:
        url = server.env["BUZZ_DATABASE_URL"]
        with app_on(url) as (app, client):
            user, channel_id = subscribed_channel(app, client, receiver.url())
        with httpx.Client(base_url=server.base_url, timeout=30) as live:
            post_message(live, user, channel_id, "before")
            wait_for(lambda: statuses_in(url) == ["delivered"])
            with locked_exclusively(url):
                refused = live.post(
                    f"/v1/buzz/channels/{channel_id}/messages",
                    json={"text": "while locked"},
                    headers=user.headers,
                )
                time.sleep(max(0.0, LOCKED_FOR_S - refused.elapsed.total_seconds()))
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            post_message(live, user, channel_id, "after")
            wait_for(lambda: statuses_in(url) == ["delivered", "delivered"], within_s=30)
            assert live.get("/readyz").status_code == 200
    texts = [json.loads(r.body)["message"]["text"] for r in receiver.requests]
    assert texts == ["before", "after"]
