"""Signatures verify with the receivers' own tools: `standardwebhooks` and the seed's HMAC check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from buzz.delivery.signing import buzzchat_signature, new_signing_secret, sign, signature_headers

BODY = json.dumps(
    {"id": "evt_1", "type": "giveaway.winner", "data": {"user": "ana", "prize": "café"}},
    ensure_ascii=False,
).encode()

# The seed's verifyWebhookSignature (reference/002), verbatim, fed the raw body on stdin.
SEED_VERIFIER = """
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expected = crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const ok = verifyWebhookSignature(Buffer.concat(chunks), process.argv[1], process.argv[2]);
  process.stdout.write(ok ? 'valid' : 'invalid');
});
"""


def test_new_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_signing_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_signing_secret() != secret


def test_headers_carry_id_timestamp_and_signature() -> None:
    headers = signature_headers(
        secrets=[new_signing_secret()], msg_id="evt_1", timestamp=1767225600, body=BODY
    )
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == "1767225600"
    assert headers["webhook-signature"].startswith("v1,")


def test_signature_is_base64_hmac_of_id_timestamp_and_body() -> None:
    secret = new_signing_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"evt_1.1767225600." + BODY, hashlib.sha256).digest()
    signature = sign(secrets=[secret], msg_id="evt_1", timestamp=1767225600, body=BODY)
    assert signature == "v1," + base64.b64encode(expected).decode()


def test_standardwebhooks_verifies_what_we_send() -> None:
    secret = new_signing_secret()
    headers = signature_headers(
        secrets=[secret], msg_id="evt_1", timestamp=int(time.time()), body=BODY
    )
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_during_rotation_each_secret_alone_verifies() -> None:
    old, new = new_signing_secret(), new_signing_secret()
    headers = signature_headers(
        secrets=[new, old], msg_id="evt_1", timestamp=int(time.time()), body=BODY
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers)


def test_a_tampered_body_does_not_verify() -> None:
    secret = new_signing_secret()
    headers = signature_headers(
        secrets=[secret], msg_id="evt_1", timestamp=int(time.time()), body=BODY
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"ana", b"bob"), headers)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sign(secrets=[], msg_id="evt_1", timestamp=1767225600, body=BODY)


def test_buzzchat_signature_is_hex_hmac_keyed_with_the_whole_secret_string() -> None:
    secret = new_signing_secret()
    expected = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert buzzchat_signature(secret, BODY) == expected
    decoded_key = base64.b64decode(secret.removeprefix("whsec_"))
    assert buzzchat_signature(secret, BODY) != hmac.new(decoded_key, BODY, "sha256").hexdigest()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_seed_verifier_accepts_buzzchat_signature() -> None:
    secret = new_signing_secret()
    node = shutil.which("node")
    assert node is not None

    def seed_says(signature: str) -> str:
        result = subprocess.run(  # noqa: S603 (fixed script, our own arguments)
            [node, "-e", SEED_VERIFIER, signature, secret],
            input=BODY,
            capture_output=True,
            check=True,
            timeout=30,
        )
        return result.stdout.decode()

    assert seed_says(buzzchat_signature(secret, BODY)) == "valid"
    assert seed_says(buzzchat_signature(new_signing_secret(), BODY)) == "invalid"
