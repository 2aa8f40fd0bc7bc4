"""Run `buzz serve` as a real process on a free port, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    stderr: str = field(default="")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def buzz_serve(
    tmp_path: Path, *, args: Sequence[str] = (), **extra_env: str
) -> Iterator[LiveServer]:
    """`python -m buzz serve [args]` on a SQLite file in `tmp_path`, stopped (SIGTERM) on exit."""
    port = free_port()
    env = {
        **os.environ,
        "BUZZ_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "BUZZ_EMBEDDED_WORKER": "false",
        **extra_env,
    }
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "buzz", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, process=process)
    try:
        for _ in range(300):  # start-up takes well under a second; allow a loaded machine 30 s
            if process.poll() is not None:
                raise RuntimeError(f"buzz serve exited: {process.communicate()[1].decode()}")
            try:
                httpx.get(f"{server.base_url}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("buzz serve did not start")
        yield server
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        server.stderr = stderr.decode()
