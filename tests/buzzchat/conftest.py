"""Fixtures of the BuzzChat v1 tests: seeded subscribers of each tier, and live delivery."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from buzz.testing import SeededSubscriber, seed_subscriber
from tests.integrations.conftest import live_app, live_client, live_settings, receiver

__all__ = ["live_app", "live_client", "live_settings", "receiver"]


@pytest.fixture
def shop(app: FastAPI) -> SeededSubscriber:
    """A business-tier subscriber (the only tier the API serves) with one key."""
    return seed_subscriber(app, name="Sunny Shop")


@pytest.fixture
def other_shop(app: FastAPI) -> SeededSubscriber:
    """Another business-tier subscriber: must never see `shop`'s data."""
    return seed_subscriber(app, name="Rival Shop")


@pytest.fixture
def free_shop(app: FastAPI) -> SeededSubscriber:
    return seed_subscriber(app, name="Free Shop", tier="free")


@pytest.fixture
def pro_shop(app: FastAPI) -> SeededSubscriber:
    return seed_subscriber(app, name="Pro Shop", tier="pro")
