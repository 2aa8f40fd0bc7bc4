"""Time, injected: everything that expires, retries or counts windows asks a `Clock`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from buzz.state import StateKey

__all__ = ["CLOCK", "Clock", "ManualClock", "system_clock"]

Clock = Callable[[], datetime]
# The app's clock: `create_app(clock=...)`.
CLOCK: StateKey[Clock] = StateKey("clock")


def system_clock() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a `timedelta(**delta)` and return the new time."""
        self.now += timedelta(**delta)
        return self.now
