"""SPEC §6 chat-ingestion benchmark: `POST /api/v1/chat/events`, 100 events a call.

    python -m bench.chat                       # SQLite file
    python -m bench.chat --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_chat

The real `buzz serve` (embedded dispatcher) and a real HTTPS receiver. A business subscriber's
bot is on: welcome at once, three FAQ rules, giveaway entries on "enter", and one webhook for
every event at the receiver. `--clients` clients post calls of 100 events back to back for
`--seconds`: in each call 50 viewers new to the stream, each with a join and a message; every
fifth message asks about shipping, price or size (the FAQ triggers, in turn), every tenth says
"enter".

Beside it, the same-run reference: the same calls to a second subscriber whose bot is stopped,
so the route authenticates, validates and reads the settings, and the bot does nothing.

After the run it checks what must have happened, from the API and the receiver: one welcome per
viewer, one FAQ reply per rule (the 30 s cooldown: the run is shorter), one entry per viewer who
said "enter", and a delivered webhook for each of those and each FAQ match. Any difference is
printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import trustme

from bench.analytics import cli
from bench.run import Receiver, Service, percentile, step

EVENTS_PER_CALL = 100
RULES = [
    {"triggers": ["shipping"], "reply": "We ship worldwide in 3 days."},
    {"triggers": ["price"], "reply": "Prices are on the screen."},
    {"triggers": ["size"], "reply": "Sizes run true."},
]
TOPICS = ["How much is shipping?", "What is the price?", "Which size fits?"]


def chat_call(client: int, call: int) -> list[dict[str, Any]]:
    """100 events: 50 new viewers, each a join then a message."""
    chat = []
    for n in range(EVENTS_PER_CALL // 2):
        name = f"viewer-{client}-{call}-{n}"
        chat.append({"type": "join", "username": name})
        if n % 10 == 0:
            text = "enter me please"
        elif n % 5 == 0:
            text = TOPICS[(n // 5) % len(TOPICS)]
        else:
            text = "love this stream"
        chat.append({"type": "message", "username": name, "text": text})
    return chat


def expected_for(calls: int) -> dict[str, int]:
    """What `calls` calls of `chat_call` must have caused."""
    per_call_viewers = EVENTS_PER_CALL // 2
    viewers = calls * per_call_viewers
    entries = calls * sum(1 for n in range(per_call_viewers) if n % 10 == 0)
    faq_matches = calls * sum(1 for n in range(per_call_viewers) if n % 10 and n % 5 == 0)
    return {
        "welcomes": viewers,
        "faq replies": len(RULES),
        "entries": entries,
        "webhook deliveries": viewers + len(RULES) + faq_matches + entries,
    }


async def closed_loop(
    url: str, key: str, clients: int, seconds: float
) -> tuple[int, float, list[float], int]:
    """`clients` clients posting calls back to back for `seconds`: (calls, elapsed, ms, failed)."""
    latencies: list[float] = []
    failed = 0
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def client(c: int) -> None:
            nonlocal failed
            call = 0
            while time.perf_counter() < deadline:
                body = json.dumps({"events": chat_call(c, call)})
                started = time.perf_counter()
                async with session.post(f"{url}/api/v1/chat/events", data=body) as response:
                    await response.read()
                    if response.status != 202:
                        failed += 1
                latencies.append((time.perf_counter() - started) * 1000)
                call += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, failed


def new_subscriber(env: dict[str, str], name: str) -> str:
    """A business subscriber and its API key, made with `buzz admin`; the key."""
    subscriber = cli(env, "admin", "create-subscriber", "--name", name, "--json")
    return str(
        cli(env, "admin", "create-api-key", "--subscriber-id", subscriber["id"], "--json")["key"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--no-webhook", action="store_true", help="no webhook: the bot's own work alone"
    )
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
            "BUZZ_RATE_LIMIT_PER_MINUTE": "1000000",
            "BUZZ_RATE_LIMIT_PER_DAY": "100000000",
            "BUZZ_BENCH_LOG": str(workdir / "serve.log"),
        }
        service = None
        try:
            service = Service(env)
            key = service.creds["apiKey"]["key"]
            auth = {"Authorization": f"Bearer {key}"}
            service.http.patch(
                "/api/v1/settings",
                headers=auth,
                json={
                    "botActive": True,
                    "welcomeEnabled": True,
                    "welcomeDelay": 0,
                    "faqEnabled": True,
                    "faqRules": RULES,
                    "giveawayEnabled": True,
                    "giveawayKeywords": ["enter"],
                },
            ).raise_for_status()
            if not args.no_webhook:
                service.http.post(
                    "/api/v1/webhooks",
                    headers=auth,
                    json={
                        "url": f"{receiver.url}/hook",
                        "events": ["message.sent", "message.received", "giveaway.entry"],
                    },
                ).raise_for_status()
            stopped_key = new_subscriber(env, "Stopped Bot")

            step(f"reference, bot stopped: {args.clients} clients for {args.seconds:g} s")
            ref_calls, ref_s, ref_ms, ref_failed = asyncio.run(
                closed_loop(service.url, stopped_key, args.clients, args.seconds)
            )
            step(f"bot on: {args.clients} clients for {args.seconds:g} s")
            calls, elapsed, ours_ms, failed = asyncio.run(
                closed_loop(service.url, key, args.clients, args.seconds)
            )
            expected = expected_for(calls - failed)
            if args.no_webhook:
                expected["webhook deliveries"] = 0
            analytics = service.http.get("/api/v1/analytics?period=day", headers=auth).json()
            entries = service.http.get("/api/v1/giveaway/entries", headers=auth).json()
            got = {
                "welcomes": analytics["data"]["welcomeMessages"],
                "faq replies": analytics["data"]["faqReplies"],
                "entries": entries["data"]["count"],
            }
            step(f"waiting for {expected['webhook deliveries']:,} webhook deliveries")
            deadline = time.monotonic() + 300
            while True:
                got["webhook deliveries"] = receiver.stats()["count"]
                if got["webhook deliveries"] >= expected["webhook deliveries"]:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            rss = service.peak_rss_mb()
        finally:
            receiver.stop()
            if service is not None:
                step("stopping buzz serve (SIGTERM)")
                service.stop()

    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(f"Buzz server chat-ingestion benchmark ({backend}, {os.cpu_count()} cores)")
    print()
    print("| figure | bot on | same-run reference: bot stopped |")
    print("|---|---|---|")
    print(
        f"| `POST /api/v1/chat/events`, {EVENTS_PER_CALL} events a call, {args.clients} clients "
        f"| {calls * EVENTS_PER_CALL / elapsed:,.0f} events/s, "
        f"p50 {statistics.median(ours_ms):.0f} ms, p99 {percentile(ours_ms, 0.99):.0f} ms "
        f"a call, {failed} failed "
        f"| {ref_calls * EVENTS_PER_CALL / ref_s:,.0f} events/s, "
        f"p50 {statistics.median(ref_ms):.0f} ms, p99 {percentile(ref_ms, 0.99):.0f} ms, "
        f"{ref_failed} failed |"
    )
    print(f"| peak RSS of `buzz serve` | {rss:.0f} MiB | |")
    print()
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    for name, value in expected.items():
        print(f"{name}: expected {value:,}, got {got.get(name)}")
    sys.exit(1 if wrong or failed else 0)


if __name__ == "__main__":
    main()
