"""Webhook signatures: Standard Webhooks (SPEC §4.3) and BuzzChat's ``X-BuzzChat-Signature`` (§3.9).

Standard Webhooks signing is done by the `standardwebhooks` package itself, so what we send is what
its ``Webhook.verify`` accepts. Secrets are ``whsec_`` + base64 of 32 random bytes; the HMAC key is
the decoded bytes. During a rotation every live secret signs, and the signatures are sent
space-separated; a receiver holding any one of the secrets verifies.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

__all__ = [
    "SECRET_PREFIX",
    "buzzchat_signature",
    "delivery_headers",
    "new_signing_secret",
    "sign",
    "signature_headers",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_signing_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def sign(*, secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` per secret, space-separated, in order."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    # standardwebhooks signs text; the body is our own UTF-8 JSON, so this is lossless.
    text = body.decode("utf-8")
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(_signer(secret).sign(msg_id, when, text) for secret in secrets)


@functools.lru_cache(maxsize=4096)
def _signer(secret: str) -> Webhook:
    # Building a Webhook decodes its key; a delivery is signed on every attempt.
    return Webhook(secret)


def signature_headers(
    *, secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers: webhook-id, webhook-timestamp and webhook-signature."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def buzzchat_signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `body` keyed with the whole secret string (UTF-8), as the seed's
    ``verifyWebhookSignature`` computes it."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def delivery_headers(
    *,
    secrets: Sequence[str],
    fixed: Iterable[tuple[str, str]],
    style: str,
    event_id: str,
    event_type: str,
    payload: bytes,
    timestamp: int,
) -> dict[str, str]:
    """Every header of one attempt: the target's `fixed` ones, then ours (which it cannot set):
    the Standard Webhooks trio and, for style "buzzchat", BuzzChat's signature and event name."""
    headers = dict(fixed)
    headers["content-type"] = "application/json"
    headers.update(
        signature_headers(secrets=secrets, msg_id=event_id, timestamp=timestamp, body=payload)
    )
    if style == "buzzchat":
        headers["X-BuzzChat-Signature"] = buzzchat_signature(secrets[0], payload)
        headers["X-BuzzChat-Event"] = event_type
    return headers
