"""Slow or stalled clients are answered 408 and disconnected (SPEC §1.6), not held: against a
real `buzz serve`, with `BUZZ_REQUEST_TIMEOUT_S=1`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.serving import LiveServer, buzz_serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with buzz_serve(tmp_path_factory.mktemp("slow"), BUZZ_REQUEST_TIMEOUT_S="1") as live:
        yield live


def exchange(server: LiveServer, sent: bytes) -> bytes:
    """Send `sent`, then nothing more; everything the server writes until it closes."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as conn:
        conn.sendall(sent)
        received = b""
        while chunk := conn.recv(65536):  # b"" once the server has closed the connection
            received += chunk
        return received


def status_and_body(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_a_declared_body_that_never_comes_is_408(server: LiveServer) -> None:
    response = exchange(
        server,
        b"POST /api/v1/chat/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n",
    )
    status, body = status_and_body(response)
    assert status == 408
    assert (
        body["error"]
        == {  # type: ignore[comparison-overlap]
            "code": "REQUEST_TIMEOUT",
            "message": "The request body was not received within 1 s",
        }
        or body.get("success") is False
    )


def test_a_body_cut_short_is_408(server: LiveServer) -> None:
    response = exchange(
        server,
        b"POST /v1/buzz/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"title": "ha',
    )
    status, body = status_and_body(response)
    assert (status, body["status"], body["path"]) == (408, 408, "/v1/buzz/channels")


def test_headers_that_never_end_are_408(server: LiveServer) -> None:
    response = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: still typ")
    status, body = status_and_body(response)
    assert (status, body["statusReason"]) == (408, "Request Timeout")


def test_a_silent_connection_is_closed_with_408(server: LiveServer) -> None:
    status, _ = status_and_body(exchange(server, b""))
    assert status == 408


def test_a_prompt_request_is_served_as_usual(server: LiveServer) -> None:
    response = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 200 ")
    assert json.loads(response.partition(b"\r\n\r\n")[2]) == {"status": "ok"}


def test_the_setting_is_validated(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="BUZZ_REQUEST_TIMEOUT_S"),
        buzz_serve(tmp_path, BUZZ_REQUEST_TIMEOUT_S="0"),
    ):
        pass
