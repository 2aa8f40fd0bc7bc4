"""Contract tests: each drives a real outside tool against a real `buzz serve` (issue 11).

The node tools (`standardwebhooks`, `svix`, the MCP Inspector) are pinned in
`tools/node/package-lock.json`. `.ci/run` installs them with `npm ci --prefix tools/node`; a test
run that finds them missing installs them the same way (the `node_modules` fixture, in
tests/conftest.py: the browser tests use it too), so the README's test command needs no step of
its own (only node and npm on the machine).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.contracts.receiving import Integrator, TlsFiles, delivering_server, issue_tls
from tests.serving import LiveServer


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("the contract tests need node and npm (see the README)")
    return path


# A module's receivers, its `buzz serve` that delivers to them, and the integrator using it: one
# of each per module, so one module's targets never get another's events.


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return issue_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with delivering_server(tmp_path_factory.mktemp("server"), tls) as live:
        yield live


@pytest.fixture(scope="module")
def integrator(server: LiveServer) -> Iterator[Integrator]:
    someone = Integrator(server)
    try:
        yield someone
    finally:
        someone.close()
