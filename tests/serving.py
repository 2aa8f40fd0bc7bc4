"""Run `buzz serve` as a real process on a free port, as an operator would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    stderr: str = field(default="")

    def bootstrap(self) -> dict[str, Any]:
        """What `buzz admin bootstrap --json` prints, run with this server's environment (so on
        its database): a user, its OAuth client, a Business subscriber and its API key."""
        made = subprocess.run(
            [sys.executable, "-m", "buzz", "admin", "bootstrap", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        created: dict[str, Any] = json.loads(made.stdout)
        assert created["subscriber"]["tier"] == "business", created["subscriber"]
        return created


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def buzz_serve(
    tmp_path: Path, *, args: Sequence[str] = (), port: int | None = None, **extra_env: str
) -> Iterator[LiveServer]:
    """`python -m buzz serve [args]` on a SQLite file in `tmp_path`, stopped (SIGTERM) on exit;
    on `port` when given (to name the server's own address in its settings), a free one else."""
    port = port or free_port()
    env = {
        **os.environ,
        "BUZZ_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "BUZZ_EMBEDDED_WORKER": "false",
        **extra_env,
    }
    # Its output goes to files, not pipes: a pipe nobody reads until the end fills up (64 KiB of
    # access log) and then blocks the server's event loop in the middle of a test.
    out_path, err_path = tmp_path / f"serve-{port}.out", tmp_path / f"serve-{port}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "buzz", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=err,
        )
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, process=process)
    try:
        for _ in range(300):  # start-up takes well under a second; allow a loaded machine 30 s
            if process.poll() is not None:
                raise RuntimeError(f"buzz serve exited: {err_path.read_text(errors='replace')}")
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
        process.wait(timeout=15)
        server.stderr = err_path.read_text(errors="replace")
