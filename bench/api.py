"""SPEC §6 API-rate and fan-out benchmark, against the real `buzz serve` and a real receiver.

    python -m bench.api                        # SQLite file
    python -m bench.api --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Figures:
- API rate: `--clients` concurrent clients POST `/v1/buzz/channels/{id}/messages` for
  `--seconds`, each message fanning out to 10 subscriptions (delivered by the embedded
  dispatcher to a real HTTPS receiver); posts per second and p50/p99, beside two references
  under the same load, each under uvicorn: the raw write reference (`bench/raw_write_app.py`:
  the same rows written by hand with plain sqlite3 on one connection) and a bare FastAPI
  endpoint of the same shape (`bench/bare_app.py`, no database);
- fan-out: one message to 1,000 subscriptions, time from the POST until the receiver has all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
import trustme
from tests.serving import free_port

from bench.run import Receiver, Service, percentile, step


def _integration_on(service: Service, channel: str, name: str) -> str:
    response = service.http.post(
        "/v1/buzz/integrations",
        json={"name": name, "scope": "CHANNEL_LIST", "channelIds": [channel]},
    )
    response.raise_for_status()
    integration: str = response.json()["id"]
    return integration


def _subscribe(service: Service, integration: str, url: str) -> None:
    service.http.post(
        f"/v1/buzz/integrations/{integration}/subscriptions",
        json={"eventType": "MESSAGE_POSTED", "url": url},
    ).raise_for_status()


def _channel(service: Service, title: str) -> str:
    response = service.http.post("/v1/buzz/channels", json={"title": title})
    response.raise_for_status()
    channel: str = response.json()["id"]
    return channel


async def closed_loop(
    base_url: str, path: str, headers: dict[str, str], clients: int, seconds: float
) -> tuple[int, float, list[float], int]:
    """`clients` POSTing back to back for `seconds`: (posts, elapsed s, latencies ms, failed)."""
    latencies: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        base_url=base_url, connector=connector, headers=headers
    ) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client(n: int) -> None:
            nonlocal failed
            i = 0
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                async with session.post(path, data=json.dumps({"text": f"m {n}.{i}"})) as r:
                    await r.read()
                    if r.status != 201:
                        failed += 1
                latencies.append((time.perf_counter() - sent) * 1000)
                i += 1

        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, failed


def reference_server(
    workdir: Path, module: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A reference app (`bench.bare_app`, `bench.raw_write_app`) under uvicorn, as ours runs."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**os.environ, **(env or {})},
        stderr=open(workdir / f"{module}.log", "wb"),  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/docs")
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{module} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fan-out", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1, help="`buzz serve --workers N`")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="separate `buzz worker` processes (then the API processes have no dispatcher)",
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
            "BUZZ_EMBEDDED_WORKER": "false" if args.worker_processes else "true",
            "BUZZ_ALLOW_PRIVATE_TARGETS": "true",
            "BUZZ_DISPATCH_CA_BUNDLE": str(workdir / "ca.pem"),
            "BUZZ_DISPATCH_PER_HOST": "64",
            "BUZZ_BENCH_LOG": str(workdir / "serve.log"),
        }
        bare, bare_url = reference_server(workdir, "bench.bare_app")
        raw, raw_url = reference_server(
            workdir, "bench.raw_write_app", {"BUZZ_RAW_DB": str(workdir / "raw.db")}
        )
        service = None
        workers: list[subprocess.Popen[bytes]] = []
        try:
            service = Service(env, ("--workers", str(args.workers)) if args.workers > 1 else ())
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "buzz", "worker"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(workdir / f"worker{n}.log", "wb"),  # noqa: SIM115
                )
                for n in range(args.worker_processes)
            ]
            headers = {
                "Authorization": service.http.headers["Authorization"],
                "content-type": "application/json",
            }
            step("10 integrations subscribed to one channel")
            rate_channel = _channel(service, "rate")
            for n in range(10):
                integration = _integration_on(service, rate_channel, f"rate {n}")
                _subscribe(service, integration, f"{receiver.url}/rate/{n}")
            path = f"/v1/buzz/channels/{rate_channel}/messages"

            step(f"bare FastAPI endpoint: {args.clients} clients for {args.seconds:g} s")
            bare_posts, bare_s, bare_ms, bare_failed = asyncio.run(
                closed_loop(bare_url, path, headers, args.clients, args.seconds)
            )
            step(f"raw write reference: {args.clients} clients for {args.seconds:g} s")
            raw_posts, raw_s, raw_ms, raw_failed = asyncio.run(
                closed_loop(raw_url, path, headers, args.clients, args.seconds)
            )
            step(f"buzz serve: {args.clients} clients for {args.seconds:g} s")
            receiver.reset()
            posts, elapsed, ours_ms, failed = asyncio.run(
                closed_loop(service.url, path, headers, args.clients, args.seconds)
            )
            drained_from = time.monotonic()
            receiver.wait_for(10 * (posts - failed), 600)
            drained_s = time.monotonic() - drained_from
            receiver.reset()

            step(f"fan-out: one message to {args.fan_out:,} subscriptions")
            fan_channel = _channel(service, "fan-out")
            integration = _integration_on(service, fan_channel, "fan-out")
            for n in range(args.fan_out):
                _subscribe(service, integration, f"{receiver.url}/fan/{n}")
            started = time.monotonic()
            service.http.post(
                f"/v1/buzz/channels/{fan_channel}/messages", json={"text": "everyone"}
            ).raise_for_status()
            receiver.wait_for(args.fan_out, 600)
            fan_out_s = time.monotonic() - started
            rss = service.peak_rss_mb()
        finally:
            receiver.stop()
            for process in (bare, raw, *workers):
                process.terminate()
                process.wait(30)
            if service is not None:
                step("stopping buzz serve (SIGTERM)")
                service.stop()

    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    layout = f"buzz serve --workers {args.workers}" if args.workers > 1 else "one buzz serve"
    layout += (
        f" + {args.worker_processes} buzz worker"
        if args.worker_processes
        else ", dispatcher embedded"
    )
    print(f"Buzz server API benchmark ({backend}, {os.cpu_count()} cores, {layout})")
    print()
    print("| figure | buzz server | same-run references |")
    print("|---|---|---|")
    ours, ceiling, reference = posts / elapsed, bare_posts / bare_s, raw_posts / raw_s
    print(
        f"| API rate, {args.clients} clients, each post fanning out to 10 subscriptions "
        f"| {ours:,.0f} posts/s ({ours / reference:.2f}x the raw write reference), "
        f"p50 {statistics.median(ours_ms):.1f} ms, p99 {percentile(ours_ms, 0.99):.1f} ms, "
        f"{failed} failed; its {10 * (posts - failed):,} deliveries done {drained_s:.1f} s "
        f"after the last post "
        f"| raw write reference (plain sqlite3, same writes) {reference:,.0f} posts/s, "
        f"p50 {statistics.median(raw_ms):.1f} ms, p99 {percentile(raw_ms, 0.99):.1f} ms, "
        f"{raw_failed} failed; "
        f"bare FastAPI endpoint (no database) {ceiling:,.0f} posts/s, "
        f"p50 {statistics.median(bare_ms):.1f} ms, "
        f"p99 {percentile(bare_ms, 0.99):.1f} ms, {bare_failed} failed |"
    )
    print(
        f"| fan-out: one message to {args.fan_out:,} subscriptions, POST to last delivery "
        f"| {fan_out_s * 1000:,.0f} ms | |"
    )
    what = "its parent process" if args.workers > 1 else "`buzz serve`"
    print(f"| peak RSS of {what} | {rss:.0f} MiB | |")


if __name__ == "__main__":
    main()
