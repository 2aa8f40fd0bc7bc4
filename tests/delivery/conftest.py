"""Fixtures for delivery tests: a real HTTPS receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.https_receiver import HttpsReceiver


@pytest.fixture
def https_receiver() -> Iterator[HttpsReceiver]:
    """A running HTTPS receiver with its own CA; `ca_pem_path` is the bundle to trust."""
    with HttpsReceiver() as receiver:
        yield receiver
