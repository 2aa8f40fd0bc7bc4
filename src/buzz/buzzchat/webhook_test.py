"""`POST /api/v1/webhooks/{id}/test`: one `webhook.test` POSTed from the request, never retried.

The only delivery made from inside a request (SPEC §4.1). It is signed and guarded exactly as
the dispatcher's deliveries are, and kept in the delivery log.
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

from buzz.buzzchat import events
from buzz.buzzchat.models import new_id
from buzz.buzzchat.webhooks import TestResult
from buzz.delivery import outbox
from buzz.delivery.dispatcher import delivery_headers
from buzz.delivery.models import Target
from buzz.delivery.outbox import Claimed
from buzz.delivery.transport import DeliveryError, build_http_client, post_capped
from buzz.settings import Settings

__all__ = ["PreparedTest", "prepare", "send"]


class PreparedTest:
    """The test event for one target, ready to POST."""

    def __init__(self, target: Target, *, webhook_id: str, now: datetime) -> None:
        self.event_id = new_id("evt", 24)
        self.payload = events.payload_of(
            event_id=self.event_id,
            event_type=events.TEST_EVENT,
            data={"webhookId": webhook_id, "message": "This is a test event from BuzzChat"},
            now=now,
        )
        self.claimed = Claimed(
            id=0,
            event_id=self.event_id,
            event_type=events.TEST_EVENT,
            payload=self.payload,
            attempts=0,
            first_attempt_at=None,
            target_id=target.id,
            created_at=now,
            url=target.url,
            host=urlsplit(target.url).hostname or "",
            secrets=outbox.live_secrets(target, now),
            headers=tuple((h["name"], h["value"]) for h in target.headers),
            style=target.style,
        )


def prepare(target: Target, *, webhook_id: str, now: datetime) -> PreparedTest:
    return PreparedTest(target, webhook_id=webhook_id, now=now)


async def send(test: PreparedTest, *, settings: Settings) -> tuple[TestResult, str | None]:
    """POST the test event once; (result, first 1 KiB of the response body)."""
    headers = delivery_headers(test.claimed, timestamp=int(time.time()))
    client = build_http_client(
        allow_private=settings.allow_private_targets,
        ca_bundle=settings.dispatch_ca_bundle,
        concurrency=1,
        per_host=1,
        timeout_s=settings.dispatch_timeout_s,
    )
    started = time.perf_counter()
    try:
        response = await post_capped(
            client, test.claimed.url, content=test.payload, headers=headers
        )
    except DeliveryError as exc:
        took = round((time.perf_counter() - started) * 1000)
        return TestResult(
            delivered=False, response_code=None, response_time=took, error=str(exc)
        ), None
    finally:
        await client.aclose()
    took = round((time.perf_counter() - started) * 1000)
    delivered = 200 <= response.status_code < 300
    body = response.body[: outbox.MAX_LOGGED_BODY].decode("utf-8", errors="replace")
    error = None if delivered else f"The receiver answered {response.status_code}"
    return (
        TestResult(
            delivered=delivered, response_code=response.status_code, response_time=took, error=error
        ),
        body,
    )
