"""Fault run (SPEC §4.1, §4.2, §1.4): kill a worker mid-delivery, restart PostgreSQL mid-run.

    python -m bench.faults                    # PostgreSQL on 127.0.0.1:5432, database buzz_faults
    python -m bench.faults --rate 80 --seconds 40 --delay-ms 300

Needs a local PostgreSQL this user may restart (`pg_ctlcluster`, as root or postgres): the run
drops and creates its own database, never another one, but the restart cuts every client of the
server, so run it alone.

One `buzz serve` (API only) and two `buzz worker` processes on one PostgreSQL database; a channel
with two integrations, each subscribed to MESSAGE_POSTED at a local HTTPS receiver that holds each
answer `--delay-ms`, so deliveries are in flight at any moment. Messages are posted at `--rate`
per second for `--seconds`; meanwhile:
- at 25 % of the run the first worker is killed with SIGKILL (its leased deliveries are in flight)
  and started again 2 s later;
- at 55 % PostgreSQL is restarted (`pg_ctlcluster … restart`): every connection of every process
  is cut, and for a few seconds none can be made.
Then it waits until the receiver has every delivery (the killed worker's leases must expire
first: `BUZZ_DISPATCH_TIMEOUT_S=2` keeps a lease at 50 s) and reports:
- messages accepted (201) and refused (5xx or a cut connection) by the API;
- deliveries expected (accepted messages x 2), received, lost (expected but never received),
  duplicates (received more than once: at-least-once delivery, deduplicated by endpoint and
  `webhook-id`);
- whether every process recovered by itself: the API ready again, both workers alive and
  connected, no delivery left pending.
Exit status 1 when anything is lost or a process did not recover.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import trustme
from sqlalchemy import create_engine, text

from bench.run import Receiver, Service, recreate_postgres_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/buzz_faults"
SUBSCRIPTIONS = 2


def restart_command() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


@dataclass
class Posts:
    accepted: set[str] = field(default_factory=set)
    refused: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


async def post_messages(url: str, token: str, channel: str, rate: int, seconds: float) -> Posts:
    """POST a message every 1/rate s for `seconds`; which were accepted, how many refused."""
    posts = Posts()
    headers = {"Authorization": f"bearer {token}", "content-type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def post(i: int) -> None:
            try:
                async with session.post(
                    f"{url}/v1/buzz/channels/{channel}/messages",
                    data=json.dumps({"text": f"fault run {i}"}),
                ) as response:
                    body = await response.read()
                    if response.status == 201:
                        posts.accepted.add(str(json.loads(body)["id"]))
                    else:
                        posts.refuse(str(response.status))
            except (aiohttp.ClientError, TimeoutError) as exc:
                posts.refuse(type(exc).__name__)

        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)
    return posts


class Worker:
    """One `buzz worker` process, its log in the run's folder."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "buzz", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart(self) -> None:
        self.process = self._start()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def connected_to_postgres(pid: int) -> bool:
    """Whether the process holds an established TCP connection to port 5432 (`ss -tnp`)."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dport", "=", ":5432"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return f"pid={pid}," in out


def pending_deliveries(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        ).scalar_one()
    engine.dispose()
    return int(count)


async def faults(workers: list[Worker], seconds: float, timeline: list[str]) -> None:
    """SIGKILL the first worker at 25 % (back 2 s later); restart PostgreSQL at 55 %."""
    start = time.monotonic()

    def at(fraction: float) -> float:
        return max(0.0, start + fraction * seconds - time.monotonic())

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - start:5.1f} s  {what}")

    await asyncio.sleep(at(0.25))
    workers[0].kill()
    mark("SIGKILL buzz worker #1")
    await asyncio.sleep(2)
    workers[0].restart()
    mark("buzz worker #1 started again")
    await asyncio.sleep(at(0.55))
    mark("restarting PostgreSQL")
    await asyncio.to_thread(subprocess.run, restart_command(), check=True, capture_output=True)
    mark("PostgreSQL is back")


async def run(
    service: Service, workers: list[Worker], channel: str, args: argparse.Namespace
) -> tuple[Posts, list[str]]:
    timeline: list[str] = []
    posting = post_messages(service.url, service.token, channel, args.rate, args.seconds)
    posts, _ = await asyncio.gather(posting, faults(workers, args.seconds, timeline))
    return posts, timeline


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rate", type=int, default=50, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--delay-ms", type=float, default=200, help="the receiver's answer time")
    parser.add_argument("--wait", type=float, default=180, help="seconds allowed to catch up")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the fault run restarts PostgreSQL: give a postgresql+psycopg:// URL")
    recreate_postgres_database(args.database_url)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        logs = args.logs or workdir
        logs.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
        receiver = Receiver(workdir, ca, delay_ms=args.delay_ms)
        env = {
            **os.environ,
            "BUZZ_DATABASE_URL": args.database_url,
            "BUZZ_EMBEDDED_WORKER": "false",
            "BUZZ_ALLOW_PRIVATE_TARGETS": "true",
            "BUZZ_DISPATCH_CA_BUNDLE": str(workdir / "ca.pem"),
            "BUZZ_DISPATCH_TIMEOUT_S": "2",
            "BUZZ_BENCH_LOG": str(logs / "serve.log"),
        }
        service = Service(env)
        workers = [Worker(env, logs / f"worker{n}.log") for n in (1, 2)]
        try:
            http = service.http
            channel = http.post("/v1/buzz/channels", json={"title": "Faults"}).json()["id"]
            for n in range(1, SUBSCRIPTIONS + 1):
                integration = http.post(
                    "/v1/buzz/integrations",
                    json={"name": f"faults {n}", "scope": "CHANNEL_LIST", "channelIds": [channel]},
                ).json()["id"]
                http.post(
                    f"/v1/buzz/integrations/{integration}/subscriptions",
                    json={"eventType": "MESSAGE_POSTED", "url": f"{receiver.url}/hook{n}"},
                ).raise_for_status()
            started = time.monotonic()
            posts, timeline = asyncio.run(run(service, workers, channel, args))
            expected = len(posts.accepted) * SUBSCRIPTIONS
            deadline = time.monotonic() + args.wait
            while time.monotonic() < deadline:  # every delivery in, none pending (leases out)
                received = receiver.ids()
                done = sum(1 for _, m in received.values() if m in posts.accepted) >= expected
                if done and pending_deliveries(args.database_url) == 0:
                    break
                time.sleep(0.5)
            caught_up = time.monotonic() - started
            received = receiver.ids()
            ready = http.get("/readyz").status_code
            alive = [worker.alive() for worker in workers]
            connected = [
                worker.alive() and connected_to_postgres(worker.process.pid) for worker in workers
            ]
            pending = pending_deliveries(args.database_url)
        finally:
            for worker in workers:
                worker.stop()
            service.stop()
            receiver.stop()

    per_message: dict[str, int] = {}
    for _count, message in received.values():
        if message is not None:
            per_message[message] = per_message.get(message, 0) + 1
    lost = sum(max(0, SUBSCRIPTIONS - per_message.get(m, 0)) for m in posts.accepted)
    duplicates = sum(count - 1 for count, _ in received.values())
    unacknowledged = sum(1 for m in per_message if m not in posts.accepted)
    recovered = ready == 200 and all(alive) and all(connected) and pending == 0

    print(
        f"Fault run: 1 buzz serve + 2 buzz worker on PostgreSQL, {args.rate} messages/s "
        f"for {args.seconds:g} s, {SUBSCRIPTIONS} subscriptions, receiver {args.delay_ms:g} ms"
    )
    for line in timeline:
        print(f"  {line}")
    refused = ", ".join(f"{k} x{v}" for k, v in sorted(posts.reasons.items())) or "none"
    print(f"messages accepted (201): {len(posts.accepted):,}; refused: {posts.refused} ({refused})")
    print(
        f"deliveries expected: {expected:,}; received (distinct endpoint and webhook-id): "
        f"{len(received):,}"
    )
    print(
        f"lost: {lost}; duplicates: {duplicates}; "
        f"messages delivered whose POST was refused: {unacknowledged}"
    )
    print(
        f"all delivered and none pending {caught_up:.0f} s after the run started "
        f"(pending left: {pending})"
    )
    print(
        f"recovered unaided: API /readyz {ready}; workers alive {alive}; "
        f"connected to PostgreSQL {connected}"
    )
    sys.exit(0 if lost == 0 and recovered else 1)


if __name__ == "__main__":
    main()
