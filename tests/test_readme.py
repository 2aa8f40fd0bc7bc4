"""The README's curl tours work as printed, against a real `buzz serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.serving import buzz_serve

README = Path(__file__).resolve().parents[1] / "README.md"
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the tours use curl")


def block(tag: str) -> str:
    """The README's ```bash <tag> block."""
    match = re.search(rf"```bash {re.escape(tag)}\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, f"README has no ```bash {tag} block"
    return match.group(1)


def run_block(tmp_path: Path, tag: str) -> list[Any]:
    """Run the block against a fresh `buzz serve`; what it printed, one line each: the lines
    that are JSON parsed, the others as they are."""
    with buzz_serve(tmp_path) as server:
        script = block(tag).replace("http://127.0.0.1:8000", server.base_url)
        bin_dir = str(Path(sys.executable).parent)
        env = {**server.env, "PATH": f"{bin_dir}:{server.env.get('PATH', '')}"}
        result = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, (result.stdout, result.stderr, server.stderr[-4000:])
    return [
        json.loads(line) if line.startswith("{") else line
        for line in result.stdout.strip().splitlines()
    ]


@needs_curl
def test_readme_tour_runs_as_printed(tmp_path: Path) -> None:
    secret, created, listed = run_block(tmp_path, "tour")
    assert re.fullmatch(r"signing secret \(shown once\): whsec_[A-Za-z0-9+/=]{40,}", secret)
    assert created["eventType"] == "SLASH_COMMAND"
    assert created["slashCommand"] == "close"
    assert listed == {"subscriptions": [created]}


@needs_curl
def test_readme_buzzchat_tour_runs_as_printed(tmp_path: Path) -> None:
    accepted, sent, picked, analytics = run_block(tmp_path, "buzzchat-tour")
    assert accepted == {"success": True, "data": {"accepted": 1, "botActive": True}}
    assert sent["success"] is True
    assert sent["data"]["messageId"].startswith("msg_")
    assert picked["data"]["winners"] == ["viewer123"]
    assert analytics["data"]["totalMessages"] == 3
    assert analytics["data"]["welcomeMessages"] == 1
    assert analytics["data"]["faqReplies"] == 1
    assert analytics["data"]["apiMessages"] == 1
