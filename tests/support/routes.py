"""The app's routes, flattened, whatever FastAPI's version keeps of included routers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing

__all__ = ["flat_routes"]


def flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route of the app, with included routers expanded."""
    expand = getattr(fastapi.routing, "iter_route_contexts", None)
    yield from expand(list(routes)) if expand else routes
