"""The production poster against a real HTTPS receiver; `HttpxPoster` on httpx.MockTransport for
status codes and timeouts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import httpx
import pytest
from standardwebhooks import Webhook

from buzz.delivery.errors import (
    DeliveryConnectionError,
    DeliveryError,
    DeliveryRefused,
    DeliveryTimeout,
    DeliveryTLSError,
    PayloadTooLarge,
)
from buzz.delivery.guard import TargetRefused
from buzz.delivery.poster import (
    MAX_PAYLOAD_BYTES,
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    AiohttpPoster,
    CappedResponse,
    HttpxPoster,
)
from buzz.delivery.signing import buzzchat_signature, new_signing_secret, signature_headers
from tests.support.https_receiver import HttpsReceiver

T = TypeVar("T")
JSON = {"content-type": "application/json"}


def with_client(
    use: Callable[[AiohttpPoster], Awaitable[T]],
    *,
    allow_private: bool = True,
    ca_bundle: str | None = None,
    concurrency: int = 8,
    per_host: int = 4,
    timeout_s: float = 10,
) -> T:
    """Build the production poster, run `use` with it in a fresh event loop, close it."""

    async def main() -> T:
        poster = AiohttpPoster(
            allow_private=allow_private,
            ca_bundle=ca_bundle,
            concurrency=concurrency,
            per_host=per_host,
            timeout_s=timeout_s,
        )
        try:
            return await use(poster)
        finally:
            await poster.aclose()
            # Let TLS connections aborted mid-response finish closing before the loop does.
            await asyncio.sleep(0.05)

    return asyncio.run(main())


def post_once(url: str, content: bytes = b"{}", **client_options: object) -> CappedResponse:
    return with_client(
        lambda p: p.post(url, content=content, headers=JSON),
        **client_options,  # type: ignore[arg-type]
    )


def failure_of(call: Callable[[], object], kind: type[DeliveryError]) -> str:
    with pytest.raises(kind) as failed:
        call()
    message = str(failed.value)
    assert "\n" not in message
    return message


def test_signed_delivery_reaches_the_receiver_and_verifies(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(202, headers={"x-receiver": "yes"}, body=b"thanks")
    secret = new_signing_secret()
    body = json.dumps({"id": "evt_1", "type": "webhook.test", "data": {}}).encode()
    headers = {
        **JSON,
        **signature_headers(
            secrets=[secret], msg_id="evt_1", timestamp=int(time.time()), body=body
        ),
        "x-buzzchat-signature": buzzchat_signature(secret, body),
    }

    response = with_client(
        lambda p: p.post(https_receiver.url("/hook"), content=body, headers=headers),
        ca_bundle=https_receiver.ca_pem_path,
    )

    assert (response.status_code, response.body) == (202, b"thanks")
    assert response.headers["x-receiver"] == "yes"
    [received] = https_receiver.requests
    assert (received.method, received.path, received.body) == ("POST", "/hook", body)
    assert received.headers["user-agent"] == USER_AGENT
    assert Webhook(secret).verify(received.body, received.headers) == json.loads(body)
    assert received.headers["x-buzzchat-signature"] == buzzchat_signature(secret, received.body)


def test_tls_is_verified_so_an_unknown_ca_fails(https_receiver: HttpsReceiver) -> None:
    message = failure_of(lambda: post_once(https_receiver.url()), DeliveryTLSError)
    assert message.startswith(f"TLS certificate of 127.0.0.1:{https_receiver.port} not accepted")
    assert "certificate" in message
    assert https_receiver.requests == []


def test_private_ip_literal_is_refused_without_connecting(https_receiver: HttpsReceiver) -> None:
    message = failure_of(
        lambda: post_once(
            https_receiver.url(), allow_private=False, ca_bundle=https_receiver.ca_pem_path
        ),
        DeliveryRefused,
    )
    assert message == (
        "target 127.0.0.1 is a loopback address; refused (BUZZ_ALLOW_PRIVATE_TARGETS is off)"
    )
    assert https_receiver.requests == []


def test_name_resolving_to_loopback_is_refused(https_receiver: HttpsReceiver) -> None:
    message = failure_of(
        lambda: post_once(
            https_receiver.url(host="localhost"),
            allow_private=False,
            ca_bundle=https_receiver.ca_pem_path,
        ),
        DeliveryRefused,
    )
    assert message.startswith("target localhost resolves to ")
    assert message.endswith("refused (BUZZ_ALLOW_PRIVATE_TARGETS is off)")
    assert https_receiver.requests == []


def test_name_resolving_to_loopback_is_delivered_when_allowed(
    https_receiver: HttpsReceiver,
) -> None:
    response = post_once(https_receiver.url(host="localhost"), ca_bundle=https_receiver.ca_pem_path)
    assert response.status_code == 200
    assert len(https_receiver.requests) == 1


def test_plain_http_is_refused_even_when_private_targets_are_allowed() -> None:
    message = failure_of(lambda: post_once("http://127.0.0.1:9/hook"), DeliveryRefused)
    assert "only https:// targets are allowed" in message


def test_the_session_guards_every_connection_not_only_post(
    https_receiver: HttpsReceiver,
) -> None:
    async def use(poster: AiohttpPoster) -> int:
        # Past `post` and its URL check: the connector's resolver still refuses loopback.
        async with poster.session().post(https_receiver.url(host="localhost"), data=b"{}") as r:
            return r.status

    with pytest.raises(aiohttp.ClientConnectorError) as refused:
        with_client(use, allow_private=False, ca_bundle=https_receiver.ca_pem_path)
    assert isinstance(refused.value.__cause__, TargetRefused)
    assert https_receiver.requests == []


def test_redirects_are_returned_not_followed(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(302, location=https_receiver.url("/elsewhere"))
    response = post_once(https_receiver.url("/hook"), ca_bundle=https_receiver.ca_pem_path)
    assert response.status_code == 302
    assert response.headers["location"] == https_receiver.url("/elsewhere")
    assert [r.path for r in https_receiver.requests] == ["/hook"]


def test_only_64_kib_of_a_huge_response_is_read(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(500, body_size=8 * 1024 * 1024)
    response = post_once(https_receiver.url(), ca_bundle=https_receiver.ca_pem_path)
    assert response.status_code == 500
    assert response.body == b"x" * MAX_RESPONSE_BYTES


def test_the_response_cap_can_be_lowered(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(200, body=b"0123456789")
    response = with_client(
        lambda p: p.post(https_receiver.url(), content=b"{}", headers=JSON, max_response_bytes=4),
        ca_bundle=https_receiver.ca_pem_path,
    )
    assert response.body == b"0123"


def test_a_payload_over_256_kib_is_refused_before_sending(https_receiver: HttpsReceiver) -> None:
    message = failure_of(
        lambda: post_once(
            https_receiver.url(),
            content=b"x" * (MAX_PAYLOAD_BYTES + 1),
            ca_bundle=https_receiver.ca_pem_path,
        ),
        PayloadTooLarge,
    )
    assert message == "payload is 262145 bytes, over the 262144 byte limit; not sent"
    assert https_receiver.requests == []


def test_a_payload_of_exactly_256_kib_is_sent(https_receiver: HttpsReceiver) -> None:
    payload = b"x" * MAX_PAYLOAD_BYTES
    response = post_once(
        https_receiver.url(), content=payload, ca_bundle=https_receiver.ca_pem_path
    )
    assert response.status_code == 200
    assert https_receiver.requests[0].body == payload


def test_a_slow_receiver_times_out(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(200, delay=30)
    message = failure_of(
        lambda: post_once(
            https_receiver.url(), ca_bundle=https_receiver.ca_pem_path, timeout_s=0.3
        ),
        DeliveryTimeout,
    )
    assert (
        message
        == f"no complete response from 127.0.0.1:{https_receiver.port} within 0.3 s; timed out"
    )
    assert len(https_receiver.requests) == 1


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = failure_of(
        lambda: post_once(f"https://127.0.0.1:{port}/hook"), DeliveryConnectionError
    )
    assert message == f"connection to 127.0.0.1:{port} refused"


def test_connections_are_kept_alive_between_deliveries(https_receiver: HttpsReceiver) -> None:
    async def twice(poster: AiohttpPoster) -> None:
        for _ in range(2):
            await poster.post(https_receiver.url(), content=b"{}", headers=JSON)

    with_client(twice, ca_bundle=https_receiver.ca_pem_path)
    first, second = https_receiver.requests
    assert first.client == second.client


def test_per_host_limit_caps_requests_in_flight(https_receiver: HttpsReceiver) -> None:
    https_receiver.respond_with(200, delay=0.05)

    async def three_at_once(poster: AiohttpPoster) -> list[CappedResponse]:
        return await asyncio.gather(
            *(poster.post(https_receiver.url(), content=b"{}", headers=JSON) for _ in range(3))
        )

    responses = with_client(three_at_once, ca_bundle=https_receiver.ca_pem_path, per_host=1)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert https_receiver.max_in_flight == 1


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpPoster(allow_private=False, ca_bundle=None, concurrency=0, per_host=1, timeout_s=1)
    with pytest.raises(ValueError, match="positive"):
        AiohttpPoster(allow_private=False, ca_bundle=None, concurrency=1, per_host=1, timeout_s=0)


def test_a_missing_ca_bundle_fails_at_build_time(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError):
        AiohttpPoster(
            allow_private=False,
            ca_bundle="/nonexistent/buzz-ca.pem",
            concurrency=1,
            per_host=1,
            timeout_s=1,
        )


# -- httpx.MockTransport: status codes and timeouts without a network ---------------------------


def mock_post(
    handler: Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]],
    *,
    timeout_s: float | None = None,
    content: bytes = b"{}",
) -> CappedResponse:
    async def handle(request: httpx.Request) -> httpx.Response:
        result = handler(request)
        return await result if isinstance(result, Awaitable) else result

    async def main() -> CappedResponse:
        poster = HttpxPoster(httpx.MockTransport(handle), timeout_s=timeout_s or 10.0)
        return await poster.post("https://hooks.example/hook", content=content, headers=JSON)

    return asyncio.run(main())


def test_any_status_is_returned_not_raised() -> None:
    response = mock_post(
        lambda request: httpx.Response(503, headers={"retry-after": "30"}, content=b"busy")
    )
    assert response == (503, response.headers, b"busy")
    assert response.headers["retry-after"] == "30"


def test_the_whole_attempt_is_bounded_by_the_timeout() -> None:
    async def never_answers(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        return httpx.Response(200)

    message = failure_of(lambda: mock_post(never_answers, timeout_s=0.01), DeliveryTimeout)
    assert message == "no complete response from hooks.example within 0.01 s; timed out"


def test_a_transport_timeout_is_a_delivery_timeout() -> None:
    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    failure_of(lambda: mock_post(read_timeout), DeliveryTimeout)


def test_other_transport_errors_are_connection_errors() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    message = failure_of(lambda: mock_post(reset), DeliveryConnectionError)
    assert message.startswith("request to hooks.example failed: RemoteProtocolError")
