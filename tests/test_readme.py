"""The README's curl tour works as printed, against a real `buzz serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import buzz_serve

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_script() -> str:
    match = re.search(r"```bash tour\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "README has no ```bash tour block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tour is written for curl")
def test_readme_tour_runs_as_printed(tmp_path: Path) -> None:
    with buzz_serve(tmp_path) as server:
        script = tour_script().replace("http://127.0.0.1:8000", server.base_url)
        bin_dir = str(Path(sys.executable).parent)
        env = {**server.env, "PATH": f"{bin_dir}:{server.env.get('PATH', '')}"}
        result = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    created, listed = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert created["eventType"] == "SLASH_COMMAND"
    assert created["slashCommand"] == "close"
    assert listed == {"subscriptions": [created]}


def buzzchat_script() -> str:
    match = re.search(r"```bash buzzchat-tour\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, "README has no ```bash buzzchat-tour block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tour is written for curl")
def test_readme_buzzchat_tour_runs_as_printed(tmp_path: Path) -> None:
    with buzz_serve(tmp_path) as server:
        script = buzzchat_script().replace("http://127.0.0.1:8000", server.base_url)
        bin_dir = str(Path(sys.executable).parent)
        env = {**server.env, "PATH": f"{bin_dir}:{server.env.get('PATH', '')}"}
        result = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, (result.stdout, result.stderr)
    accepted, sent, picked, analytics = (
        json.loads(line) for line in result.stdout.strip().splitlines()
    )
    assert accepted == {"success": True, "data": {"accepted": 1, "botActive": True}}
    assert sent["success"] is True
    assert sent["data"]["messageId"].startswith("msg_")
    assert picked["data"]["winners"] == ["viewer123"]
    assert analytics["data"]["totalMessages"] == 3
    assert analytics["data"]["welcomeMessages"] == 1
    assert analytics["data"]["faqReplies"] == 1
    assert analytics["data"]["apiMessages"] == 1
