"""A fast HTTPS webhook receiver for benchmarks (aiohttp), in its own process.

POST anything: answered 204 (after `--delay-ms`) and counted, with the receive time, the event's
own timestamp, its `webhook-id` and its Buzz message id.
GET /stats: what was received so far; GET /ids: each path and webhook-id with how often it came
and its message id; POST /reset: forget it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import time
from datetime import datetime

from aiohttp import web

received: list[tuple[float, float | None]] = []
counts: dict[str, int] = {}  # "path webhook-id" -> times received
messages: dict[str, str | None] = {}  # "path webhook-id" -> the Buzz message id it carried
DELAY_S = 0.0


def _message_id(body: bytes) -> str | None:
    try:
        value = json.loads(body)["message"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(value)


def _event_time(body: bytes) -> float | None:
    try:
        stamp = json.loads(body)["event"]["timestamp"]
    except (ValueError, KeyError, TypeError):
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def hook(request: web.Request) -> web.Response:
    body = await request.read()
    if DELAY_S:
        await asyncio.sleep(DELAY_S)
    received.append((time.time(), _event_time(body) if request.query.get("t") else None))
    webhook_id = request.headers.get("webhook-id")
    if webhook_id is not None:
        # One event to two endpoints carries one webhook-id (as Svix's msg_id): key by both.
        webhook_id = f"{request.path} {webhook_id}"
        counts[webhook_id] = counts.get(webhook_id, 0) + 1
        messages.setdefault(webhook_id, _message_id(body))
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


async def id_counts(_request: web.Request) -> web.Response:
    return web.json_response({k: [n, messages[k]] for k, n in counts.items()})


async def reset(_request: web.Request) -> web.Response:
    received.clear()
    counts.clear()
    messages.clear()
    return web.Response(status=204)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--delay-ms", type=float, default=0, help="hold each answer this long")
    args = parser.parse_args()
    global DELAY_S
    DELAY_S = args.delay_ms / 1000
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/stats", stats)
    app.router.add_get("/ids", id_counts)
    app.router.add_post("/reset", reset)
    app.router.add_post("/{tail:.*}", hook)
    web.run_app(
        app, host="127.0.0.1", port=args.port, ssl_context=context, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
