"""Rate limits on the `limits` library: in memory, or in Redis shared by every API process."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, storage, strategies

from buzz.state import StateKey

__all__ = ["RATE_LIMITER", "Decision", "RateLimiter"]


@dataclass(frozen=True)
class Decision:
    """The verdict on one request, for the tightest of the windows checked."""

    allowed: bool
    limit: int
    remaining: int
    reset_time: float  # unix seconds, unrounded

    @property
    def reset_at(self) -> int:
        """When the window frees up, in whole unix seconds (for X-RateLimit-Reset)."""
        return math.ceil(self.reset_time)

    @property
    def retry_after(self) -> int:
        """Whole seconds until a refused caller may try again (at least 1), rounded up once."""
        return max(1, math.ceil(self.reset_time - time.time()))


class RateLimiter:
    """Moving-window limits keyed by any string (a token, a subscriber, an address)."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self.storage = storage.storage_from_string(storage_uri)
        self.strategy = strategies.MovingWindowRateLimiter(self.storage)

    def check(self, key: str, *items: RateLimitItem) -> Decision:
        """Count one hit against every window; refused if any window is full (nothing counted)."""
        for item in items:
            if not self.strategy.test(item, key):
                return self._decision(key, item, allowed=False)
        for item in items:
            self.strategy.hit(item, key)
        tightest = min(items, key=lambda item: self._remaining(key, item))
        return self._decision(key, tightest, allowed=True)

    def peek(self, key: str, item: RateLimitItem) -> Decision:
        """Whether one more hit would be allowed, without counting one."""
        return self._decision(key, item, allowed=bool(self.strategy.test(item, key)))

    def record(self, key: str, item: RateLimitItem) -> None:
        """Count one hit, allowed or not (e.g. a failed authentication)."""
        self.strategy.hit(item, key)

    def hit(self, key: str, *, per_minute: int) -> tuple[bool, int]:
        """One hit against a per-minute limit: (allowed, seconds until a retry may succeed)."""
        decision = self.check(key, RateLimitItemPerMinute(per_minute))
        return decision.allowed, decision.retry_after

    def _remaining(self, key: str, item: RateLimitItem) -> int:
        return int(self.strategy.get_window_stats(item, key).remaining)

    def _decision(self, key: str, item: RateLimitItem, *, allowed: bool) -> Decision:
        stats = self.strategy.get_window_stats(item, key)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, int(stats.remaining)),
            reset_time=float(stats.reset_time),
        )


RATE_LIMITER: StateKey[RateLimiter] = StateKey("rate_limiter")
