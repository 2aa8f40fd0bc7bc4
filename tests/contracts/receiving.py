"""What the receiving contract tests share: certificates, a delivering `buzz serve`, and an
integrator driving it over HTTP as a Buzz user and a BuzzChat subscriber (issue 11).

Nothing here is mocked: the server is `python -m buzz serve` with its embedded dispatcher, the
user, client and API key come from `buzz admin bootstrap`, and every delivery goes over real TLS
to a receiver on 127.0.0.1 whose certificate a `trustme` CA issued.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import trustme

from tests.serving import LiveServer, buzz_serve

__all__ = ["Integrator", "Target", "TlsFiles", "delivering_server", "issue_tls", "wait_for"]

T = TypeVar("T")


@dataclass(frozen=True)
class TlsFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca: str
    cert: str
    key: str

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this CA (for the tests' own requests)."""
        return ssl.create_default_context(cafile=self.ca)


def issue_tls(directory: Path) -> TlsFiles:
    """A fresh CA in `directory` and a certificate it issued for the local receivers."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TlsFiles(
        ca=str(directory / "ca.pem"),
        cert=str(directory / "cert.pem"),
        key=str(directory / "key.pem"),
    )
    ca.cert_pem.write_to_path(files.ca)
    cert.private_key_pem.write_to_path(files.key)
    cert.cert_chain_pems[0].write_to_path(files.cert)
    for intermediate in cert.cert_chain_pems[1:]:
        intermediate.write_to_path(files.cert, append=True)
    return files


def wait_for(outcome: Callable[[], T], *, within_s: float = 30, what: str = "an outcome") -> T:
    """Poll until `outcome()` is truthy and return it; fail if it never is (the deadline is
    only for a failing run: a loaded machine must not turn a slow pass into a failure)."""
    deadline = time.monotonic() + within_s
    while not (value := outcome()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within_s} s")
        time.sleep(0.05)
    return value


@contextmanager
def delivering_server(directory: Path, tls: TlsFiles) -> Iterator[LiveServer]:
    """`buzz serve` with its dispatcher on, allowed to deliver to 127.0.0.1 and trusting `tls`."""
    with buzz_serve(
        directory,
        BUZZ_EMBEDDED_WORKER="true",
        BUZZ_ALLOW_PRIVATE_TARGETS="true",
        BUZZ_DISPATCH_CA_BUNDLE=tls.ca,
        BUZZ_RATE_LIMIT_PER_MINUTE="100000",  # many tests share one subscriber
    ) as server:
        yield server


@dataclass(frozen=True)
class Target:
    """Where one family sends events: an integration's subscription or a BuzzChat webhook."""

    family: str  # "buzz" or "buzzchat"
    id: str  # the webhook id, or the subscription id
    secret: str
    integration_id: str | None = None
    channel_id: str | None = None


class Integrator:
    """Someone integrating with a live server: a Buzz user (OAuth client credentials) and a
    BuzzChat business subscriber (API key), both made by `buzz admin bootstrap`."""

    def __init__(self, server: LiveServer) -> None:
        created = server.bootstrap()
        self.http = httpx.Client(base_url=server.base_url, timeout=30)
        client = created["client"]
        token = self.http.post(
            "/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(client["clientId"], client["clientSecret"]),
        )
        assert token.status_code == 200, token.text
        self.buzz_headers = {"Authorization": f"bearer {token.json()['access_token']}"}
        self.buzzchat_headers = {"Authorization": f"Bearer {created['apiKey']['key']}"}
        self.made: list[Target] = []

    def close(self) -> None:
        self.http.close()

    def remove_made(self) -> None:
        """Delete every integration and webhook made so far, so that no later event reaches a
        receiver that has gone (a BuzzChat event goes to every webhook of the subscriber)."""
        while self.made:
            target = self.made.pop()
            if target.family == "buzz":
                self.buzz("DELETE", f"/v1/buzz/integrations/{target.integration_id}", 204)
            else:
                self.buzzchat("DELETE", f"/webhooks/{target.id}")

    # -- Buzz (SPEC §2) ------------------------------------------------------------------------

    def buzz(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers=self.buzz_headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def subscribed(self, url: str) -> Target:
        """A channel of its own, an integration active on it alone (CHANNEL_LIST, so no other
        test's message reaches it) and its MESSAGE_POSTED subscription to `url`."""
        channel = self.buzz(
            "POST", "/v1/buzz/channels", 201, json={"title": "Receiving", "visibility": "PUBLIC"}
        )
        integration = self.buzz(
            "POST",
            "/v1/buzz/integrations",
            json={"name": "Receiver", "scope": "CHANNEL_LIST", "channelIds": [channel["id"]]},
        )
        subscription = self.buzz(
            "POST",
            f"/v1/buzz/integrations/{integration['id']}/subscriptions",
            json={"eventType": "MESSAGE_POSTED", "url": url},
        )
        target = Target(
            family="buzz",
            id=subscription["id"],
            secret=integration["signingSecret"],
            integration_id=integration["id"],
            channel_id=channel["id"],
        )
        self.made.append(target)
        return target

    def post_message(self, target: Target, text: str) -> None:
        """A message on the target's channel: one MESSAGE_POSTED to the subscription."""
        path = f"/v1/buzz/channels/{target.channel_id}/messages"
        self.buzz("POST", path, 201, json={"text": text})

    def subscription_path(self, target: Target) -> str:
        return f"/v1/buzz/integrations/{target.integration_id}/subscriptions/{target.id}"

    # -- BuzzChat (SPEC §3) --------------------------------------------------------------------

    def buzzchat(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        headers = self.buzzchat_headers
        response = self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is True, body
        return body.get("data", body)

    def webhook(self, url: str) -> Target:
        """A webhook to `url` for giveaway entries."""
        body = {"url": url, "events": ["giveaway.entry"]}
        hook = self.buzzchat("POST", "/webhooks", 201, json=body)
        target = Target(family="buzzchat", id=hook["id"], secret=hook["secret"])
        self.made.append(target)
        return target

    def enter_giveaway(self, username: str) -> None:
        """A manual giveaway entry: one giveaway.entry to every webhook that wants it."""
        self.buzzchat("POST", "/giveaway/entries", 201, json={"username": username})

    # -- both families -------------------------------------------------------------------------

    def raise_event(self, target: Target, label: str) -> None:
        """One event for `target`: a message (Buzz) or a giveaway entry (BuzzChat)."""
        if target.family == "buzz":
            self.post_message(target, label)
        else:
            self.enter_giveaway(label)

    def rotate(self, target: Target) -> Target:
        """The target with its new secret; the old one keeps signing for 24 h."""
        if target.family == "buzz":
            path = f"/v1/buzz/integrations/{target.integration_id}/rotate-secret"
            secret: str = self.buzz("POST", path)["signingSecret"]
        else:
            secret = self.buzzchat("POST", f"/webhooks/{target.id}/rotate-secret")["secret"]
        return Target(target.family, target.id, secret, target.integration_id, target.channel_id)

    def send_test(self, target: Target) -> dict[str, Any]:
        """The family's test event, sent by the request itself; its answer."""
        if target.family == "buzz":
            result: dict[str, Any] = self.buzz("POST", f"{self.subscription_path(target)}/test")
            return result
        tested: dict[str, Any] = self.buzzchat("POST", f"/webhooks/{target.id}/test")
        return tested

    def deliveries(self, target: Target) -> list[dict[str, Any]]:
        """The target's delivery log, newest first."""
        if target.family == "buzz":
            page = self.buzz("GET", f"{self.subscription_path(target)}/deliveries")
        else:
            page = self.buzzchat("GET", f"/webhooks/{target.id}/deliveries")
        records: list[dict[str, Any]] = page["deliveries"]
        return records

    def redeliver(self, target: Target, delivery_id: str) -> None:
        """Queue one of the target's deliveries again: the same event, the same `webhook-id`."""
        if target.family == "buzz":
            path = f"{self.subscription_path(target)}/deliveries/{delivery_id}/redeliver"
            self.buzz("POST", path, 202)
        else:
            self.buzzchat("POST", f"/webhooks/{target.id}/deliveries/{delivery_id}/redeliver", 202)
