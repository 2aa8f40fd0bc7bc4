"""The portal's tests use both families' fixtures: users and subscribers, and live delivery to a
local HTTPS receiver."""

from __future__ import annotations

from tests.buzzchat.conftest import other_shop, shop
from tests.integrations.conftest import live_app, live_client, live_settings, receiver

__all__ = ["live_app", "live_client", "live_settings", "other_shop", "receiver", "shop"]
