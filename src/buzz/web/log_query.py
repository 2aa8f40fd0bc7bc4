"""The delivery log's list query (SPEC §3.10), the same on both API families' routes.

`?status=`, `?eventType=`, `?since=`, `?until=` filter; `?cursor=` continues from the `next` of
the page before (the engine reads it: `buzz.delivery.log`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query

from buzz.errors import BadRequest
from buzz.wire import IsoDateTime

__all__ = ["LogQuery", "LogQueryDep", "check_window"]

Status = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class LogQuery:
    status: Status | None
    event_type: str | None
    since: datetime | None
    until: datetime | None
    cursor: str | None


def check_window(since: datetime | None, until: datetime | None) -> None:
    """A 400 naming `until` unless it follows `since` (when both are given)."""
    if since is not None and until is not None and until <= since:
        raise BadRequest.on("until", "until must be later than since")


async def log_query(  # async: no thread hop for parsing a query string
    status: Annotated[Status | None, Query(description="Only deliveries in this state.")] = None,
    event_type: Annotated[
        str | None,
        Query(alias="eventType", min_length=1, max_length=64, description="Only this event type."),
    ] = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Only deliveries created at or after this time (ISO 8601)."),
    ] = None,
    until: Annotated[
        IsoDateTime | None,
        Query(description="Only deliveries created before this time (ISO 8601)."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="The `next` of the previous page, as it was; not with `offset`.",
        ),
    ] = None,
) -> LogQuery:
    check_window(since, until)
    return LogQuery(status=status, event_type=event_type, since=since, until=until, cursor=cursor)


LogQueryDep = Annotated[LogQuery, Depends(log_query)]
