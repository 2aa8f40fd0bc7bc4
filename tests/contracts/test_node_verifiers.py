"""Deliveries verify with the tools a Node integrator installs (SPEC §2.5, §3.9, §4.3; issue 11).

A real `buzz serve` (embedded dispatcher) delivers over TLS to a real HTTPS receiver written in
Node (`node/receiver.cjs`), which checks every delivery it gets with `standardwebhooks` and
`svix` (pinned in `tools/node/package-lock.json`) and, for BuzzChat webhooks, with the seed's own
`verifyWebhookSignature` on `X-BuzzChat-Signature`; each check is also run on a tampered body,
which must be rejected. The polls below wait for an outcome; they time nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from buzz.delivery.signing import new_signing_secret
from tests.contracts.receiving import (
    Integrator,
    TlsFiles,
    wait_for,
)

RECEIVER = Path(__file__).parent / "node" / "receiver.cjs"
VALID = "valid"


class NodeReceiver:
    """`node receiver.cjs` on a free port of 127.0.0.1, serving `tls`'s certificate."""

    def __init__(self, node: str, node_modules: Path, tls: TlsFiles, directory: Path) -> None:
        self.tls = tls
        port_file = directory / "node-receiver.port"
        self.log_path = directory / "node-receiver.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - node from PATH, our own script
                [node, str(RECEIVER)],
                env={
                    **os.environ,
                    "NODE_PATH": str(node_modules),
                    "CERT_FILE": tls.cert,
                    "KEY_FILE": tls.key,
                    "PORT_FILE": str(port_file),
                },
                stdout=log,
                stderr=log,
            )
        wait_for(lambda: port_file.exists() or self.process.poll() is not None, what="node start")
        if self.process.poll() is not None:
            raise RuntimeError(f"the node receiver exited: {self.log_path.read_text()}")
        self.port = int(port_file.read_text())
        self.http = httpx.Client(base_url=self.url(""), verify=tls.client_context())

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.port}/{name}"

    def expect(self, name: str, *secrets: str) -> None:
        """Check what POST /`name` receives with each of `secrets`, in this order."""
        response = self.http.put(f"/_secrets/{name}", json={"secrets": list(secrets)})
        assert response.status_code == 204, response.text

    def received(self, name: str) -> list[dict[str, Any]]:
        """What POST /`name` received so far, with the verifiers' verdicts, oldest first."""
        response = self.http.get(f"/_results/{name}")
        assert response.status_code == 200, response.text
        records: list[dict[str, Any]] = response.json()
        return records

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def receiver(
    node: str, node_modules: Path, tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeReceiver]:
    rx = NodeReceiver(node, node_modules, tls, tmp_path_factory.mktemp("node-receiver"))
    try:
        yield rx
    finally:
        rx.close()


@pytest.fixture(autouse=True)
def _own_targets(integrator: Integrator) -> Iterator[None]:
    """Each test's integrations and webhooks are deleted after it: no event of a later test
    reaches them (every BuzzChat webhook of the subscriber gets every giveaway entry)."""
    yield
    integrator.remove_made()


def deliveries_to(receiver: NodeReceiver, name: str, count: int) -> list[dict[str, Any]]:
    """The first `count` deliveries POST /`name` received, once it has received them all."""
    records = wait_for(
        lambda: (got := receiver.received(name))[count - 1 :] and got,
        what=f"{count} deliveries to /{name}",
    )
    assert len(records) == count, records
    return records


def only_delivery(receiver: NodeReceiver, name: str) -> dict[str, Any]:
    [record] = deliveries_to(receiver, name, 1)
    return record


def assert_all_valid(verdicts: dict[str, Any], *verifiers: str) -> None:
    """Exactly `verifiers` ran (besides the tampered copy), and each accepted the delivery."""
    assert set(verdicts) == {*verifiers, "tampered"}, verdicts
    for verifier in verifiers:
        assert verdicts[verifier] == VALID, (verifier, verdicts)


def assert_tampered_rejected(verdicts: dict[str, Any]) -> None:
    tampered: dict[str, str] = verdicts["tampered"]
    assert set(tampered) == set(verdicts) - {"tampered"}
    for verifier, verdict in tampered.items():
        assert verdict.startswith("rejected"), (verifier, verdict)


def forged_headers(msg_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers signed now with a secret nobody was given."""
    now = datetime.now(tz=UTC)
    signature = Webhook(new_signing_secret()).sign(msg_id, now, body.decode())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "X-BuzzChat-Signature": "0" * 64,
    }


def test_a_buzz_event_verifies_with_standardwebhooks_and_svix_in_node(
    integrator: Integrator, receiver: NodeReceiver
) -> None:
    target = integrator.subscribed(receiver.url("buzz-event"))
    receiver.expect("buzz-event", target.secret)

    integrator.post_message(target, "verified in node: café ✓ 🐝")

    record = only_delivery(receiver, "buzz-event")
    body = json.loads(record["body"])
    assert body["event"]["type"] == "MESSAGE_POSTED"
    assert body["message"]["text"] == "verified in node: café ✓ 🐝"
    assert record["webhookId"] == body["event"]["id"]
    assert (record["signatures"], record["buzzchatEvent"]) == (1, None)
    [verdicts] = record["checks"]
    assert verdicts == {
        "standardwebhooks": VALID,
        "svix": VALID,
        "tampered": verdicts["tampered"],
    }
    assert_tampered_rejected(verdicts)
    assert record["status"] == 204
    [logged] = wait_for(
        lambda: [d for d in integrator.deliveries(target) if d["status"] == "delivered"],
        what="a delivered log entry",
    )
    assert (logged["eventId"], logged["lastResponseCode"]) == (body["event"]["id"], 204)


def test_the_subscription_test_event_verifies_in_node(
    integrator: Integrator, receiver: NodeReceiver
) -> None:
    target = integrator.subscribed(receiver.url("buzz-test"))
    receiver.expect("buzz-test", target.secret)

    result = integrator.send_test(target)

    assert (result["delivered"], result["responseCode"]) == (True, 204)
    record = only_delivery(receiver, "buzz-test")
    assert json.loads(record["body"])["event"]["test"] is True
    [verdicts] = record["checks"]
    assert_all_valid(verdicts, "standardwebhooks", "svix")
    assert_tampered_rejected(verdicts)


def test_a_buzzchat_webhook_verifies_with_the_seed_check_standardwebhooks_and_svix(
    integrator: Integrator, receiver: NodeReceiver
) -> None:
    target = integrator.webhook(receiver.url("buzzchat-event"))
    receiver.expect("buzzchat-event", target.secret)

    integrator.enter_giveaway("viewer123 ✓ café")

    record = only_delivery(receiver, "buzzchat-event")
    body = json.loads(record["body"])
    assert (body["type"], body["data"]["username"]) == ("giveaway.entry", "viewer123 ✓ café")
    assert (record["webhookId"], record["buzzchatEvent"]) == (body["id"], "giveaway.entry")
    [verdicts] = record["checks"]
    # seedReserialized: an Express app that re-stringifies the parsed body still verifies,
    # because the body is compact JSON, which JSON.stringify gives back byte for byte.
    assert verdicts == {
        "standardwebhooks": VALID,
        "svix": VALID,
        "seed": VALID,
        "seedReserialized": VALID,
        "tampered": verdicts["tampered"],
    }
    assert_tampered_rejected(verdicts)

    result = integrator.send_test(target)  # webhook.test, sent by the request itself
    assert (result["delivered"], result["responseCode"]) == (True, 204)
    _, tested = deliveries_to(receiver, "buzzchat-event", 2)
    assert tested["buzzchatEvent"] == "webhook.test"
    [test_verdicts] = tested["checks"]
    assert_all_valid(test_verdicts, "standardwebhooks", "svix", "seed", "seedReserialized")
    assert_tampered_rejected(test_verdicts)


@pytest.mark.parametrize("family", ["buzz", "buzzchat"])
def test_a_forged_delivery_is_rejected_by_every_node_verifier(
    family: str, integrator: Integrator, receiver: NodeReceiver
) -> None:
    name = f"forged-{family}"
    url = receiver.url(name)
    target = integrator.subscribed(url) if family == "buzz" else integrator.webhook(url)
    receiver.expect(name, target.secret)
    body = b'{"id":"evt_forged","type":"giveaway.entry","data":{"username":"mallory"}}'

    headers = forged_headers("evt_forged", body)

    answer = receiver.http.post(f"/{name}", content=body, headers=headers)

    assert answer.status_code == 401
    [record] = receiver.received(name)
    [verdicts] = record["checks"]
    assert verdicts["standardwebhooks"] == "rejected: No matching signature found"
    assert verdicts["svix"] == "rejected: No matching signature found"
    assert verdicts["seed"] == "rejected: returned false"
    assert_tampered_rejected(verdicts)


@pytest.mark.parametrize("family", ["buzz", "buzzchat"])
def test_during_a_rotation_the_new_and_the_old_secret_both_verify_in_node(
    family: str, integrator: Integrator, receiver: NodeReceiver
) -> None:
    name = f"rotated-{family}"
    url = receiver.url(name)
    old = integrator.subscribed(url) if family == "buzz" else integrator.webhook(url)
    new = integrator.rotate(old)
    receiver.expect(name, new.secret, old.secret)

    integrator.raise_event(new, f"after rotating {family}")

    record = only_delivery(receiver, name)
    assert record["signatures"] == 2
    assert record["status"] == 204
    with_new, with_old = record["checks"]
    for verdicts in (with_new, with_old):
        assert (verdicts["standardwebhooks"], verdicts["svix"]) == (VALID, VALID), verdicts
        assert_tampered_rejected(verdicts)
    if family == "buzzchat":
        # X-BuzzChat-Signature holds one HMAC, the seed compares one: it is the new secret's
        # (docs/buzzchat.md, "Webhooks"); the old secret verifies webhook-signature only.
        assert (with_new["seed"], with_new["seedReserialized"]) == (VALID, VALID)
        assert with_old["seed"] == "rejected: returned false"
