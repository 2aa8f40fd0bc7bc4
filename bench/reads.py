"""SPEC §6 read-rate benchmark: the read routes under concurrent load, beside `/healthz`.

    python -m bench.reads                      # SQLite file
    python -m bench.reads --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_reads
    python -m bench.reads --workers 2          # two API processes on the one SQLite file

The real `buzz serve` (embedded dispatcher idle). A channel with 500 messages and a BuzzChat
subscriber are made first; then `--clients` clients GET back to back for `--seconds` each:
`/healthz` (the same-run reference: no database, no authentication),
`GET /v1/buzz/channels/{id}/messages?limit=50` and `GET /api/v1/analytics`, one route at a time.
Then the same reads again while `--writers` clients post messages to another channel, to show
whether reads wait behind writes. Requests per second and p50/p99 for each; 0 failed expected.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.run import Service, percentile, step


async def load(
    url: str,
    reads: tuple[str, dict[str, str]],
    clients: int,
    seconds: float,
    writes: tuple[str, dict[str, str]] | None = None,
    writers: int = 0,
) -> tuple[int, float, list[float], int]:
    """`clients` GETting `reads` back to back (and `writers` POSTing `writes` meanwhile):
    (reads done, elapsed s, read latencies ms, failed reads)."""
    latencies: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=clients + writers)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def reader() -> None:
            nonlocal failed
            path, headers = reads
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                async with session.get(path, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failed += 1
                latencies.append((time.perf_counter() - sent) * 1000)

        async def writer(n: int) -> None:
            assert writes is not None
            path, headers = writes
            i = 0
            while time.perf_counter() < deadline:
                async with session.post(path, headers=headers, json={"text": f"w {n}.{i}"}) as r:
                    await r.read()
                i += 1

        await asyncio.gather(
            *(reader() for _ in range(clients)), *(writer(n) for n in range(writers))
        )
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1, help="buzz serve --workers N")
    args = parser.parse_args()

    rows: list[tuple[str, str, int, float, list[float], int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        env = {
            **os.environ,
            "BUZZ_DATABASE_URL": database_url,
            "BUZZ_EMBEDDED_WORKER": "true",
            "BUZZ_RATE_LIMIT_PER_MINUTE": "100000000",
            "BUZZ_RATE_LIMIT_PER_DAY": "100000000",
            "BUZZ_BENCH_LOG": str(workdir / "serve.log"),
        }
        service = Service(env, ("--workers", str(args.workers)) if args.workers > 1 else ())
        try:
            buzz = {"Authorization": f"Bearer {service.token}"}
            chat = {"Authorization": f"Bearer {service.creds['apiKey']['key']}"}
            step("a channel with 500 messages")
            channel = service.http.post("/v1/buzz/channels", json={"title": "reads"}).json()["id"]
            for n in range(500):
                service.http.post(
                    f"/v1/buzz/channels/{channel}/messages", json={"text": f"message {n}"}
                ).raise_for_status()
            other = service.http.post("/v1/buzz/channels", json={"title": "writes"}).json()["id"]
            routes = [
                ("`/healthz` (reference)", ("/healthz", {})),
                (
                    "`GET …/messages?limit=50`",
                    (f"/v1/buzz/channels/{channel}/messages?limit=50", buzz),
                ),
                ("`GET /api/v1/analytics`", ("/api/v1/analytics", chat)),
            ]
            writes = (f"/v1/buzz/channels/{other}/messages", buzz)
            for label, reads in routes:
                step(f"{label}: {args.clients} clients for {args.seconds:g} s")
                rows.append(
                    (
                        label,
                        "alone",
                        *asyncio.run(load(service.url, reads, args.clients, args.seconds)),
                    )
                )
            for label, reads in routes:
                step(f"{label} with {args.writers} writers posting")
                rows.append(
                    (
                        label,
                        f"{args.writers} writers posting",
                        *asyncio.run(
                            load(
                                service.url, reads, args.clients, args.seconds, writes, args.writers
                            )
                        ),
                    )
                )
        finally:
            step("stopping buzz serve (SIGTERM)")
            service.stop()

    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"Buzz server read-rate benchmark ({backend}, {os.cpu_count()} cores, "
        f"{args.workers} API process(es), {args.clients} clients, {args.seconds:g} s a row)"
    )
    print()
    print("| route | meanwhile | requests/s | p50 | p99 | failed |")
    print("|---|---|---|---|---|---|")
    for label, meanwhile, done, elapsed, latencies, failed in rows:
        print(
            f"| {label} | {meanwhile} | {done / elapsed:,.0f} | "
            f"{statistics.median(latencies):.1f} ms | {percentile(latencies, 0.99):.1f} ms | "
            f"{failed} |"
        )


if __name__ == "__main__":
    main()
