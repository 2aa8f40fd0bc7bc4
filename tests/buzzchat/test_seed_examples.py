"""The seed document's code examples work as printed against a real `buzz serve`.

The examples live in `seed/`, copied verbatim from the seed; a test changes only the API key and
the base URL (`https://api.buzzchat.app/v1` → the server's `/v1`) before running them with the
venv's Python, `node` and `curl`. The subscriber and its key come from `buzz admin bootstrap`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import LiveServer, buzz_serve

SEED = Path(__file__).parent / "seed"
SEED_BASE = "https://api.buzzchat.app/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with buzz_serve(tmp_path_factory.mktemp("seed-server")) as server:
        yield server


@dataclass(frozen=True)
class Shop:
    """A subscriber made by `buzz admin bootstrap`, and how to call the API as it."""

    server: LiveServer
    key: str

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.server.base_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.key}"},
            **kwargs,
        )
        assert response.is_success, response.text
        return response.json()["data"]


@pytest.fixture
def shop(server: LiveServer) -> Shop:
    """A fresh business subscriber with its bot on, made with the CLI on the server's database."""
    created = server.bootstrap()
    shop = Shop(server=server, key=created["apiKey"]["key"])
    shop.call("PATCH", "/settings", json={"botActive": True})
    return shop


def seed_copy(name: str, replacements: dict[str, str]) -> str:
    """A seed example with each placeholder (which must be there) replaced."""
    text = (SEED / name).read_text()
    for placeholder, value in replacements.items():
        assert placeholder in text, f"{placeholder!r} is not in seed/{name}"
        text = text.replace(placeholder, value)
    return text


def test_python_example_prints_the_weeks_total_and_a_winner(shop: Shop, tmp_path: Path) -> None:
    for username in ("viewer123", "shopper456"):
        shop.call("POST", "/giveaway/entries", json={"username": username})
    for text in ("Welcome in!", "Use code SAVE10 for 10% off!"):
        shop.call("POST", "/messages/send", json={"message": text})
    script = tmp_path / "example.py"
    script.write_text(
        seed_copy(
            "example.py",
            {
                "'your_api_key_here'": repr(shop.key),
                f"'{SEED_BASE}'": repr(f"{shop.server.base_url}/v1"),
            },
        )
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    total, winner = result.stdout.splitlines()
    assert total == "Total messages this week: 2"
    assert winner in ("Winner: viewer123", "Winner: shopper456")
    # The example really picked: the winner cannot win again this round.
    remaining = {"viewer123", "shopper456"} - {winner.removeprefix("Winner: ")}
    assert shop.call("POST", "/giveaway/pick-winner")["winners"] == list(remaining)


@pytest.mark.skipif(shutil.which("node") is None, reason="`node` is not on PATH")
def test_javascript_example_sends_the_message(shop: Shop, tmp_path: Path) -> None:
    script = tmp_path / "send_message.js"
    script.write_text(
        seed_copy(
            "send_message.js",
            {
                "'your_api_key_here'": json.dumps(shop.key),
                SEED_BASE: f"{shop.server.base_url}/v1",
            },
        )
    )
    result = subprocess.run(  # noqa: S603
        ["node", str(script)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    assert printed.startswith("Message sent: {")
    assert "success: true" in printed
    assert re.search(r"messageId: 'msg_\w+'", printed), printed
    sent = shop.call("GET", "/messages", params={"status": "sent"})["messages"]
    assert [(m["message"], m["kind"]) for m in sent] == [
        ("Flash sale! 20% off everything for the next 30 minutes!", "api")
    ]


@pytest.mark.skipif(shutil.which("curl") is None, reason="`curl` is not on PATH")
def test_curl_commands_answer_the_documented_shapes(shop: Shop) -> None:
    shop.call("POST", "/giveaway/entries", json={"username": "viewer123"})
    script = seed_copy(
        "curl.sh", {SEED_BASE: f"{shop.server.base_url}/v1", "YOUR_API_KEY": shop.key}
    )
    result = subprocess.run(  # noqa: S603
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    decoder = json.JSONDecoder()
    answers: list[dict[str, Any]] = []
    rest = result.stdout.strip()
    while rest:
        answer, end = decoder.raw_decode(rest)
        answers.append(answer)
        rest = rest[end:].strip()
    analytics, sent, picked = answers
    assert analytics["success"] is True
    assert analytics["data"]["period"] == "week"
    assert analytics["data"]["totalMessages"] == 0
    assert {"welcomeMessages", "faqReplies", "timerMessages", "breakdown"} <= set(analytics["data"])
    assert set(analytics["data"]["breakdown"]) >= {"welcome", "faq", "timer"}
    assert sent["success"] is True
    assert set(sent["data"]) == {"messageId", "sentAt"}
    assert sent["data"]["messageId"].startswith("msg_")
    assert picked["success"] is True
    assert picked["data"]["winners"] == ["viewer123"]
    assert set(picked["data"]) == {"winners", "timestamp"}
    messages = shop.call("GET", "/messages", params={"status": "sent"})["messages"]
    assert [m["message"] for m in messages] == ["Thanks for watching!"]
