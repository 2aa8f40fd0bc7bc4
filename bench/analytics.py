"""SPEC §6 analytics benchmark: `GET /api/v1/analytics` with 1,000,000 stored bot messages.

    python -m bench.analytics                       # SQLite file
    python -m bench.analytics --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Starts the real service with uvicorn (`buzz serve`), stores the messages straight into the
database (sent over the last 60 days, the four kinds mixed, FAQ replies over 20 keywords, the
hourly and daily counters written as sending writes them), then times each period of the
analytics and FAQ-trigger routes over loopback, beside two same-run references: `/healthz` (no
database) and `/api/v1/accounts` (the same authentication and a one-row query).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from tests.serving import free_port

from buzz.buzzchat import counts
from buzz.buzzchat.models import BotMessage
from buzz.clock import system_clock
from buzz.db import Database
from buzz.models import load_all_models

KINDS = ("welcome", "faq", "timer", "api")
WEIGHTS = (36, 26, 30, 8)
KEYWORDS = [f"keyword{i:02d}" for i in range(20)]
CHUNK = 50_000


def step(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "buzz", *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout) if "--json" in args else None


def store_messages(database_url: str, account_id: str, count: int, rng: random.Random) -> None:
    """`count` sent bot messages over the last 60 days, with their hourly rollups."""
    load_all_models()
    database = Database(database_url)
    now = system_clock()
    span_s = int(timedelta(days=60).total_seconds())
    # (table, bucket column, label column) -> Counter[(bucket, label)]
    rollups: dict[tuple[Any, str, str], Counter[tuple[Any, str]]] = {
        (counts.HOURLY_MESSAGES, "hour", "kind"): Counter(),
        (counts.DAILY_MESSAGES, "day", "kind"): Counter(),
        (counts.HOURLY_FAQ, "hour", "keyword"): Counter(),
        (counts.DAILY_FAQ, "day", "keyword"): Counter(),
    }
    try:
        written = 0
        while written < count:
            rows = []
            for i in range(min(CHUNK, count - written)):
                sent_at = now - timedelta(seconds=rng.randrange(span_s))
                kind = rng.choices(KINDS, WEIGHTS)[0]
                keyword = rng.choice(KEYWORDS) if kind == "faq" else None
                for (_, bucket, label), counter in rollups.items():
                    floor = counts.hour_of if bucket == "hour" else counts.day_of
                    value = kind if label == "kind" else keyword
                    if value is not None:
                        counter[(floor(sent_at), value)] += 1
                rows.append(
                    {
                        "id": f"msg_bench{written + i:012d}",
                        "account_id": account_id,
                        "kind": kind,
                        "text": "Thanks for watching!",
                        "status": "sent",
                        "send_at": sent_at,
                        "sent_at": sent_at,
                        "keyword": keyword,
                        "created_at": sent_at,
                    }
                )
            with database.session() as session:
                session.execute(insert(BotMessage), rows)
                session.commit()
            written += len(rows)
            step(f"stored {written:,} messages")
        with database.session() as session:
            for (table, bucket, label), counter in rollups.items():
                session.execute(
                    insert(table),
                    [
                        {"account_id": account_id, bucket: when, label: value, "count": n}
                        for (when, value), n in counter.items()
                    ],
                )
            session.commit()
    finally:
        database.dispose()


def timed(http: httpx.Client, path: str, rounds: int) -> tuple[float, float, Any]:
    """p50 and p99 in ms of `rounds` sequential GETs, and the last body."""
    took = []
    body: Any = None
    for _ in range(rounds):
        started = time.perf_counter()
        response = http.get(path)
        took.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
    took.sort()
    p99 = took[min(len(took) - 1, round(0.99 * (len(took) - 1)))]
    return statistics.median(took), p99, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="buzz-bench-analytics-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    env = {
        **os.environ,
        "BUZZ_DATABASE_URL": database_url,
        # The benchmark measures the route, not the per-subscriber rate limit.
        "BUZZ_RATE_LIMIT_PER_MINUTE": "100000000",
        "BUZZ_RATE_LIMIT_PER_DAY": "100000000",
    }
    cli(env, "migrate")
    creds = cli(env, "admin", "bootstrap", "--json")
    account_id = creds["subscriber"]["accountId"]
    step(f"storing {args.messages:,} bot messages in {database_url.split(':')[0]}")
    started = time.perf_counter()
    store_messages(database_url, account_id, args.messages, random.Random(7))
    step(f"stored in {time.perf_counter() - started:.0f} s")
    port = free_port()
    log = open(workdir / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "buzz", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {creds['apiKey']['key']}"},
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if http.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("buzz serve did not become ready")
            time.sleep(0.1)
        paths = [
            "/healthz",
            "/api/v1/accounts",
            *(f"/api/v1/analytics?period={p}" for p in ("day", "week", "month", "all")),
            "/api/v1/analytics/faq-triggers?period=all",
        ]
        for path in paths:
            timed(http, path, 10)  # warm up
        print(f"analytics over {args.messages:,} stored bot messages ({args.rounds} GETs each)")
        print(f"{'route':<44} {'p50 ms':>8} {'p99 ms':>8}")
        for path in paths:
            p50, p99, body = timed(http, path, args.rounds)
            print(f"{path:<44} {p50:8.2f} {p99:8.2f}")
            if "period=all" in path and "faq" not in path:
                total = body["data"]["totalMessages"]
                if total != args.messages:
                    raise SystemExit(f"analytics counted {total:,}, not {args.messages:,}")
        status = Path(f"/proc/{server.pid}/status").read_text()
        rss = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        print(f"peak RSS of buzz serve: {int(rss.split()[1]) / 1024:.0f} MiB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
