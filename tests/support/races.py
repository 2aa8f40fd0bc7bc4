"""Requests fired together from threads at a real `buzz serve` (the `shared_server` fixture:
the suite's PostgreSQL database, or a migrated SQLite file)."""

from __future__ import annotations

import threading

import httpx

__all__ = ["together"]


def together(
    url: str, headers: dict[str, str], bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    """POST each body to `url`, all at the same moment from as many threads; the responses in
    the order they came back."""
    start = threading.Barrier(len(bodies))
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def run(body: dict[str, object]) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            response = client.post(url, json=body, headers=headers)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(responses) == len(bodies)
    return responses
