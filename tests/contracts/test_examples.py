"""The example receivers in `examples/` work as `docs/receiving.md` says (issue 11).

Each example runs as its integrator would run it (`python examples/receive_python.py`, `node
examples/receive_node.mjs`, with the secret and the port in the environment), here serving HTTPS
with a trustme certificate, since Buzz delivers to https:// URLs only. A real `buzz serve` (its
embedded dispatcher) delivers one Buzz event and one BuzzChat webhook to each example, which
verifies and accepts it, then takes a redelivery of the same event (the same `webhook-id`) as a
duplicate; and each refuses with 401 what a forger sends. What an example did is read from the
lines it prints ("accepted <id>", "duplicate <id>", "handled <id> <type>", "rejected: <why>") and
from the server's delivery log. The polls wait for an outcome; they time nothing.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from buzz.delivery.signing import new_signing_secret
from tests.contracts.receiving import (
    Integrator,
    TlsFiles,
    wait_for,
)
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RECEIVING_DOC = ROOT / "docs" / "receiving.md"
LANGUAGES = ["python", "node"]
EVENT_TYPE = {"buzz": "MESSAGE_POSTED", "buzzchat": "giveaway.entry"}


class ExampleReceiver:
    """One example receiver as a process on 127.0.0.1:`port`, serving `tls`'s certificate."""

    def __init__(
        self, command: list[str], *, secret: str, port: int, tls: TlsFiles, directory: Path
    ) -> None:
        self.output = directory / "stdout.log"
        self.errors = directory / "stderr.log"
        env = {
            **os.environ,
            "WEBHOOK_SECRET": secret,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "TLS_CERT_FILE": tls.cert,
            "TLS_KEY_FILE": tls.key,
        }
        with self.output.open("wb") as out, self.errors.open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 - python or node, and our own example
                command, env=env, stdout=out, stderr=err
            )
        wait_for(
            lambda: f"listening on port {port}" in self.lines() or self.process.poll() is not None,
            what=f"{command[-1]} listening",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"{command} exited: {self.errors.read_text(errors='replace')}")
        self.url = f"https://127.0.0.1:{port}/"
        self.http = httpx.Client(verify=tls.client_context(), timeout=30)

    def lines(self) -> list[str]:
        """What it printed so far, a line each."""
        return self.output.read_text(errors="replace").splitlines()

    def printed(self, line: str) -> str:
        """Wait until it has printed `line`."""
        return wait_for(lambda: line if line in self.lines() else "", what=f"{line!r} printed")

    def post(self, body: str, headers: dict[str, str]) -> int:
        """POST `body` as a sender would; the status it answered."""
        response = self.http.post(self.url, content=body.encode(), headers=headers)
        return response.status_code

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=10)


StartExample = Callable[[str, str, int], ExampleReceiver]


@pytest.fixture
def start_example(
    request: pytest.FixtureRequest, tls: TlsFiles, tmp_path: Path
) -> Iterator[StartExample]:
    """Start an example receiver (`python` or `node`) with a secret on a port; stopped after."""
    started: list[ExampleReceiver] = []

    def start(language: str, secret: str, port: int) -> ExampleReceiver:
        directory = tmp_path / f"{language}-{port}"
        directory.mkdir()
        if language == "python":
            command = [sys.executable, str(EXAMPLES / "receive_python.py")]
        else:
            command = node_command(request, directory)
        started.append(
            ExampleReceiver(command, secret=secret, port=port, tls=tls, directory=directory)
        )
        return started[-1]

    try:
        yield start
    finally:
        for example in started:
            example.close()


def node_command(request: pytest.FixtureRequest, directory: Path) -> list[str]:
    """`node receive_node.mjs` from a folder laid out as an integrator's project: the example
    with `node_modules` beside it (an ES module finds its packages there; NODE_PATH is ignored).
    The example is linked, not copied, so the file in `examples/` is the one that runs."""
    node: str = request.getfixturevalue("node")
    node_modules: Path = request.getfixturevalue("node_modules")
    (directory / "node_modules").symlink_to(node_modules, target_is_directory=True)
    example = directory / "receive_node.mjs"
    example.symlink_to(EXAMPLES / "receive_node.mjs")
    return [node, "--preserve-symlinks-main", str(example)]


def signed(secret: str, msg_id: str, when: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers that `secret` gives `body` at `when`."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


@pytest.mark.parametrize("family", ["buzz", "buzzchat"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_example_accepts_a_delivery_once_and_takes_its_redelivery_as_a_duplicate(
    language: str, family: str, integrator: Integrator, start_example: StartExample
) -> None:
    port = free_port()
    url = f"https://127.0.0.1:{port}/{family}"
    target = integrator.subscribed(url) if family == "buzz" else integrator.webhook(url)
    try:
        example = start_example(language, target.secret, port)

        integrator.raise_event(target, f"for the {language} example: café ✓ 🐝")

        [delivery] = wait_for(
            lambda: [d for d in integrator.deliveries(target) if d["status"] == "delivered"],
            what="a delivered event",
        )
        event_id = delivery["eventId"]
        assert (delivery["eventType"], delivery["lastResponseCode"]) == (EVENT_TYPE[family], 204)
        handled = f"handled {event_id} {EVENT_TYPE[family]}"
        example.printed(handled)
        assert example.lines()[1:] == [f"accepted {event_id}", handled]

        integrator.redeliver(target, delivery["id"])

        example.printed(f"duplicate {event_id}")
        [again] = wait_for(
            lambda: [
                d
                for d in integrator.deliveries(target)
                if (d["status"], d["attempts"]) == ("delivered", 2)
            ],
            what="the redelivery delivered",
        )
        assert (again["eventId"], again["lastResponseCode"]) == (event_id, 204)
        # Taken once: the duplicate was answered 204 and not handled again.
        assert example.lines()[1:] == [f"accepted {event_id}", handled, f"duplicate {event_id}"]
    finally:
        integrator.remove_made()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_example_refuses_what_its_secret_did_not_sign_as_sent(
    language: str, start_example: StartExample
) -> None:
    secret = new_signing_secret()
    example = start_example(language, secret, free_port())
    event = {"id": "evt_forged", "type": "giveaway.entry", "data": {"username": "viewer123"}}
    body = json.dumps(event, separators=(",", ":"))
    now = datetime.now(tz=UTC)
    unsigned = signed(secret, "evt_forged", now, body)
    del unsigned["webhook-signature"]
    forgeries: dict[str, tuple[str, dict[str, str]]] = {
        "another secret's signature": (body, signed(new_signing_secret(), "evt_forged", now, body)),
        "a body changed after signing": (
            body.replace("viewer123", "mallory"),
            signed(secret, "evt_forged", now, body),
        ),
        "a signature ten minutes old": (
            body,
            signed(secret, "evt_forged", now - timedelta(minutes=10), body),
        ),
        "no signature": (body, unsigned),
    }

    answers = {why: example.post(content, headers) for why, (content, headers) in forgeries.items()}

    assert answers == dict.fromkeys(forgeries, 401)
    assert example.lines()[1:] == [
        "rejected: No matching signature found",
        "rejected: No matching signature found",
        "rejected: Message timestamp too old",
        "rejected: Missing required headers",
    ]
    # The same body signed as it is sent is taken: the refusals above were the signatures'.
    assert example.post(body, signed(secret, "evt_forged", now, body)) == 204
    example.printed("handled evt_forged giveaway.entry")


def anchors(markdown: Path) -> set[str]:
    """The `#anchors` of a Markdown file's headings, as GitHub makes them."""
    prose = re.sub(r"^```.*?^```", "", markdown.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_receiving_guide_names_tested_versions_and_links_to_files_that_exist() -> None:
    text = RECEIVING_DOC.read_text()
    lock = json.loads((ROOT / "tools" / "node" / "package-lock.json").read_text())
    for package in ("standardwebhooks", "svix"):
        pinned = lock["packages"][f"node_modules/{package}"]["version"]
        assert f"{package} {pinned}" in text, f"the guide names {package} {pinned} (npm)"
    # PyPI's is not pinned (pyproject asks for >=1.0.1): a new release must not fail this test,
    # but a new major version, whose API may differ, asks for the guide to be read again.
    installed = importlib.metadata.version("standardwebhooks")
    assert f"standardwebhooks {installed.split('.')[0]}." in text, installed

    links = re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text)
    # Relative links to the repository's own files only: they hold on any clone or mirror.
    for path, anchor in links:
        target = RECEIVING_DOC.parent / path if path else RECEIVING_DOC
        assert target.exists(), path
        if anchor:
            assert anchor in anchors(target), f"{path}#{anchor}"
    for example in ("receive_python.py", "receive_node.mjs", "receive_go/main.go"):
        assert (f"../examples/{example}", "") in links, example
