"""A fast HTTPS webhook receiver for benchmarks (aiohttp), in its own process.

POST anything: answered 204 and counted, with the receive time and the event's own timestamp.
GET /stats: what was received so far; POST /reset: forget it.
"""

from __future__ import annotations

import argparse
import json
import ssl
import time
from datetime import datetime

from aiohttp import web

received: list[tuple[float, float | None]] = []


def _event_time(body: bytes) -> float | None:
    try:
        stamp = json.loads(body)["event"]["timestamp"]
    except (ValueError, KeyError, TypeError):
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def hook(request: web.Request) -> web.Response:
    body = await request.read()
    received.append((time.time(), _event_time(body) if request.query.get("t") else None))
    return web.Response(status=204)


async def stats(_request: web.Request) -> web.Response:
    times = [r for r, _ in received]
    latencies = [r - e for r, e in received if e is not None]
    return web.json_response(
        {
            "count": len(received),
            "first": min(times) if times else None,
            "last": max(times) if times else None,
            "latencies": latencies,
        }
    )


async def reset(_request: web.Request) -> web.Response:
    received.clear()
    return web.Response(status=204)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/{tail:.*}", hook)
    web.run_app(
        app, host="127.0.0.1", port=args.port, ssl_context=context, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
