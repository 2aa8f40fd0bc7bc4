"""SPEC §6 benchmark: the real service under uvicorn, a real HTTPS receiver, same-run ceilings.

    python -m bench.run                      # SQLite file, 20,000 deliveries, 500 events/s for 10 s
    python -m bench.run --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Figures:
- delivery rate: 20,000 deliveries queued at once to one receiver, beside a bare aiohttp loop
  POSTing the same payloads to the same receiver with the same number in flight;
- event-to-delivery latency p50/p99 at a steady 500 events/s posted through the API;
- peak RSS of `buzz serve`.
Every request goes over loopback only, and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import trustme
from sqlalchemy import create_engine, make_url, text
from tests.serving import free_port

from buzz.clock import system_clock
from buzz.db import Database
from buzz.delivery import outbox
from buzz.models import load_all_models

PAYLOAD = json.dumps(
    {
        "author": {"id": 67392, "displayName": "Adam Craven", "email": "adam@acme.com"},
        "message": {"id": "0b5ae5b4-2b4e-4f57-9f55-6c8f2d5c1f10", "text": "Good morning"},
        "event": {"type": "MESSAGE_POSTED", "id": "evt_bench", "timestamp": "2026-01-01T00:00:00Z"},
        "owner": {"id": 39485, "displayName": "Jamis Maxwell", "email": "jamis@acme.com"},
        "organization": {"domain": "acme.domo.com"},
        "channel": {
            "id": "4af927ea-ec3b-4a56-9acc-6a3d3d36a475",
            "parentId": "4af927ea-ec3b-4a56-9acc-6a3d3d36a475",
            "title": "General",
        },
        "callback": {
            "url": "https://acme.domo.com/api/buzz/v1/bots/message/4af927ea",
            "headers": {"x-buzz-bot-token": "691575144a28497b9247e471cba9bf8ead2e5a7a"},
        },
    },
    separators=(",", ":"),
).encode()


PROTECTED_DATABASES = {None, "postgres", "template0", "template1", "test"}


def recreate_postgres_database(url: str) -> None:
    """Drop and create a bench run's own PostgreSQL database; never the server's own ones, nor
    the test suite's `test`."""
    target = make_url(url)
    if target.database in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to recreate database {target.database!r}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


class Receiver:
    """The receiver process and a client that reads its counters."""

    def __init__(self, workdir: Path, ca: trustme.CA, *, delay_ms: float = 0) -> None:
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.cert, self.key = workdir / "server.pem", workdir / "server.key"
        cert.cert_chain_pems[0].write_to_path(str(self.cert))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(self.cert), append=True)
        cert.private_key_pem.write_to_path(str(self.key))
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "bench.receiver",
                "--port",
                str(self.port),
                "--cert",
                str(self.cert),
                "--key",
                str(self.key),
                "--delay-ms",
                str(delay_ms),
            ],
        )
        self.http = httpx.Client(verify=str(workdir / "ca.pem"), timeout=30)
        _wait_until(lambda: self.http.get(f"{self.url}/stats").status_code == 200, "receiver")

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"{self.url}/stats").json()
        return data

    def reset(self) -> None:
        self.http.post(f"{self.url}/reset")

    def ids(self) -> dict[str, tuple[int, str | None]]:
        """Each "path webhook-id" received: how many times, and the Buzz message id it carried."""
        data = self.http.get(f"{self.url}/ids").json()
        return {key: (count, message) for key, (count, message) in data.items()}

    def wait_for(self, count: int, limit_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats["count"] >= count:
                return stats
            time.sleep(0.05)
        raise SystemExit(f"receiver got {self.stats()['count']} of {count} in {limit_s} s")

    def rate(self, count: int, limit_s: float) -> float:
        """Deliveries per second from the first to the last of `count`, then forget them."""
        stats = self.wait_for(count, limit_s)
        self.reset()
        return count / (stats["last"] - stats["first"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _wait_until(check: Any, what: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


async def bare_loop(url: str, ca_pem: Path, count: int, in_flight: int) -> None:
    """The ceiling: aiohttp POSTing `count` payloads with `in_flight` at once, nothing else."""
    context = ssl.create_default_context(cafile=str(ca_pem))
    connector = aiohttp.TCPConnector(ssl=context, limit=in_flight, limit_per_host=in_flight)
    queue = iter(range(count))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in queue:
                async with session.post(
                    url, data=PAYLOAD, headers={"content-type": "application/json"}
                ) as r:
                    await r.read()

        await asyncio.gather(*(worker() for _ in range(in_flight)))


class Service:
    """`buzz serve` with its embedded dispatcher, and an admin's token on it."""

    def __init__(self, env: dict[str, str], serve_args: tuple[str, ...] = ()) -> None:
        self.env = env
        subprocess.run(
            [sys.executable, "-m", "buzz", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        creds = json.loads(
            subprocess.run(
                [sys.executable, "-m", "buzz", "admin", "bootstrap", "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "buzz",
                "serve",
                "--port",
                str(self.port),
                "--no-migrate",
                *serve_args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(env["BUZZ_BENCH_LOG"], "wb"),  # noqa: SIM115
        )
        self.creds: dict[str, Any] = creds
        self.http = httpx.Client(base_url=self.url, timeout=30)
        _wait_until(lambda: self.http.get("/readyz").status_code == 200, "buzz serve")
        self.token: str = self.http.post(
            "/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(creds["client"]["clientId"], creds["client"]["clientSecret"]),
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"bearer {self.token}"

    def subscribe(self, title: str, url: str) -> tuple[str, str]:
        """A channel with one CHANNEL_LIST integration subscribed to MESSAGE_POSTED at `url`."""
        channel = self.http.post("/v1/buzz/channels", json={"title": title}).json()["id"]
        integration = self.http.post(
            "/v1/buzz/integrations",
            json={"name": f"bench {title}", "scope": "CHANNEL_LIST", "channelIds": [channel]},
        ).json()
        self.http.post(
            f"/v1/buzz/integrations/{integration['id']}/subscriptions",
            json={"eventType": "MESSAGE_POSTED", "url": url},
        ).raise_for_status()
        subscriptions = self.http.get(f"/v1/buzz/integrations/{integration['id']}/subscriptions")
        return channel, subscriptions.json()["subscriptions"][0]["id"]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def stop(self) -> None:
        """SIGTERM, as an orchestrator would; SIGKILL if it has not exited after 30 s."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise SystemExit("buzz serve did not exit within 30 s of SIGTERM") from None


def step(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def enqueue_direct(database_url: str, subscription_id: str, count: int) -> None:
    """Queue `count` deliveries for one subscription in one transaction, as fan-out would."""
    from sqlalchemy import select

    from buzz.integrations.models import Subscription

    load_all_models()
    database = Database(database_url)
    with database.session() as session:
        target_id = session.scalar(
            select(Subscription.target_id).where(Subscription.id == subscription_id)
        )
        assert target_id is not None
        pending = [
            outbox.Pending(
                target_id=target_id,
                event_id=f"evt_{i:08d}",
                event_type="MESSAGE_POSTED",
                payload=PAYLOAD,
            )
            for i in range(count)
        ]
        outbox.enqueue(session, pending, now=system_clock())
        session.commit()
    database.dispose()


async def steady_posts(
    base_url: str, token: str, channel: str, rate: int, seconds: float
) -> tuple[int, int]:
    """POST messages at `rate` per second for `seconds`; returns (sent, failed)."""
    failures = 0
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=256)
    headers = {"Authorization": f"bearer {token}", "content-type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def post(i: int) -> None:
            nonlocal failures
            async with session.post(
                f"{base_url}/v1/buzz/channels/{channel}/messages",
                data=json.dumps({"text": f"message {i}"}),
            ) as r:
                if r.status != 201:
                    failures += 1
                await r.read()

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)
    return total, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=64, help="per-host in flight, both loops")
    parser.add_argument("--rate", type=int, default=500, help="events per second for latency")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--server-log", default=None, help="where buzz serve's log goes")
    parser.add_argument("--rounds", type=int, default=3, help="delivery-rate rounds (median)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(workdir / "ca.pem"))
        receiver = Receiver(workdir, ca)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        env = {
            **os.environ,
            "BUZZ_DATABASE_URL": database_url,
            "BUZZ_EMBEDDED_WORKER": "true",
            "BUZZ_ALLOW_PRIVATE_TARGETS": "true",
            "BUZZ_DISPATCH_CA_BUNDLE": str(workdir / "ca.pem"),
            "BUZZ_DISPATCH_PER_HOST": str(args.in_flight),
            "BUZZ_BENCH_LOG": args.server_log or str(workdir / "serve.log"),
        }
        service = None
        try:
            service = Service(env)
            _, subscription = service.subscribe("rate", f"{receiver.url}/rate")
            bare_rates, our_rates = [], []
            for round_ in range(1, args.rounds + 1):
                step(f"round {round_}: bare aiohttp loop, {args.deliveries:,} POSTs")
                asyncio.run(
                    bare_loop(
                        f"{receiver.url}/bare", workdir / "ca.pem", args.deliveries, args.in_flight
                    )
                )
                bare_rates.append(receiver.rate(args.deliveries, 120))
                step(f"round {round_}: buzz serve draining a queue of {args.deliveries:,}")
                enqueue_direct(database_url, subscription, args.deliveries)
                our_rates.append(receiver.rate(args.deliveries, 300))
            bare_rate, our_rate = statistics.median(bare_rates), statistics.median(our_rates)

            step(f"latency: {args.rate}/s through the API for {args.seconds:g} s")
            channel, _ = service.subscribe("latency", f"{receiver.url}/latency?t=1")
            token = service.http.headers["Authorization"].split()[1]
            sent, failed = asyncio.run(
                steady_posts(service.url, token, channel, args.rate, args.seconds)
            )
            got = receiver.wait_for(sent - failed, 120)
            latencies_ms = [x * 1000 for x in got["latencies"]]
            rss = service.peak_rss_mb()
        finally:
            receiver.stop()
            if service is not None:
                step("stopping buzz serve (SIGTERM)")
                service.stop()

    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"Buzz server benchmark ({backend}, {os.cpu_count()} cores, "
        f"{args.in_flight} in flight per host)"
    )
    print()
    print("| figure | buzz server | same-run ceiling |")
    print("|---|---|---|")
    ratios = sorted(ours / bare for ours, bare in zip(our_rates, bare_rates, strict=True))
    print(
        f"| delivery rate, queue of {args.deliveries:,} (median of {args.rounds}) "
        f"| {our_rate:,.0f}/s ({our_rate / bare_rate:.0%} of ceiling; "
        f"rounds {ratios[0]:.0%} to {ratios[-1]:.0%}) | bare aiohttp loop {bare_rate:,.0f}/s |"
    )
    print(
        f"| event→delivery latency at {args.rate}/s for {args.seconds:g} s | "
        f"p50 {statistics.median(latencies_ms):.1f} ms, "
        f"p99 {percentile(latencies_ms, 0.99):.1f} ms "
        f"({len(latencies_ms):,} events, {failed} failed posts) | n/a |"
    )
    print(f"| peak RSS of `buzz serve` | {rss:.0f} MiB | |")


if __name__ == "__main__":
    main()
