"""`/giveaway` (SPEC §3.7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Header, Response
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StrictInt, StringConstraints

from buzz.buzzchat import bot_settings, giveaway, idempotency
from buzz.buzzchat.auth import AccountDep, CallerDep
from buzz.buzzchat.models import GiveawayEntry
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Done, Ok, Strict
from buzz.db import SessionDep
from buzz.web.routing import ClockDep
from buzz.wire import CamelModel

router = new_router("Giveaway", 400, 404)


class Entry(CamelModel):
    username: str
    timestamp: datetime


class Entries(CamelModel):
    entries: list[Entry]
    count: int


class NewEntry(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PickWinner(Strict):
    count: Annotated[StrictInt, Field(ge=1, le=10)] = 1


class Winners(CamelModel):
    winners: list[str]
    timestamp: datetime


def entry_out(entry: GiveawayEntry) -> Entry:
    return Entry(username=entry.username, timestamp=entry.entered_at)


@router.get("/giveaway/entries", response_model=Ok[Entries])
def list_entries(account: AccountDep, session: SessionDep) -> Ok[Entries]:
    """This round's entries, oldest first."""
    found = giveaway.entries(session, settings=bot_settings.settings_of(session, account))
    return Ok(data=Entries(entries=[entry_out(e) for e in found], count=len(found)))


@router.post(
    "/giveaway/entries",
    status_code=201,
    response_model=Ok[Entry],
    responses={200: {"description": "The username had already entered this round"}},
)
def add_entry(
    body: NewEntry, response: Response, account: AccountDep, session: SessionDep, now: ClockDep
) -> Ok[Entry]:
    """Enter a username by hand (201); one already entered this round is 200, unchanged."""
    settings = bot_settings.settings_of(session, account)
    entry, created = giveaway.enter(
        session, account=account, settings=settings, username=body.username, entered_at=now, now=now
    )
    session.commit()
    if not created:
        response.status_code = 200
    return Ok(data=entry_out(entry))


@router.post("/giveaway/pick-winner", response_model=Ok[Winners])
def pick_winner(
    caller: CallerDep,
    account: AccountDep,
    session: SessionDep,
    now: ClockDep,
    body: Annotated[PickWinner | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Draw winners uniformly at random among entries that have not won this round. With an
    `Idempotency-Key`, a retry (a dropped connection, say) returns the first draw, not a new one."""
    count = body.count if body is not None else 1

    def draw() -> dict[str, Any]:
        settings = bot_settings.settings_of(session, account)
        winners = giveaway.pick_winners(
            session, account=account, settings=settings, count=count, now=now
        )
        result: dict[str, Any] = jsonable_encoder(
            Ok(data=Winners(winners=winners, timestamp=now)), by_alias=True
        )
        return result

    return idempotency.idempotent(
        session,
        key=idempotency_key,
        subscriber_id=caller.subscriber_id,
        account_id=account.id,
        operation="giveaway/pick-winner",
        body={"count": count},
        now=now,
        act=draw,
    )


@router.delete("/giveaway/entries", response_model=Done)
def clear_entries(account: AccountDep, session: SessionDep) -> Done:
    """Remove every entry and start a new round."""
    giveaway.clear(session, settings=bot_settings.settings_of(session, account))
    session.commit()
    return Done(message="All entries cleared")
