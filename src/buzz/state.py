"""Typed slots on a FastAPI app's `state`: each part of the service declares its own.

`create_app` fills them (`DATABASE.put(app, database)`); routes and dependencies read them back
typed (`DATABASE.of(request.app)`), instead of untyped `app.state.<name>` lookups.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["StateKey"]

T = TypeVar("T")


class StateKey(Generic[T]):
    """One named, typed value on `app.state`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def put(self, app: Any, value: T) -> T:
        """Store `value` on `app.state` under this key's name; returns it."""
        setattr(app.state, self.name, value)
        return value

    def get(self, app: Any, default: T) -> T:
        """The stored value, or `default` when nothing is stored yet."""
        value: T = getattr(app.state, self.name, default)
        return value

    def of(self, app: Any) -> T:
        """The value `create_app` stored; a clear error when nothing did."""
        try:
            value: T = getattr(app.state, self.name)
        except AttributeError:
            message = f"app.state.{self.name} is not set: build the app with create_app"
            raise LookupError(message) from None
        return value
