"""`/keys`: API keys (SPEC §3.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

from buzz.buzzchat import keys
from buzz.buzzchat.auth import CallerDep
from buzz.buzzchat.models import ApiKey
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Done, KeyCreate, KeyCreated, KeyList, KeyOut, Ok
from buzz.db import SessionDep
from buzz.web.routing import ClockDep

router = new_router("API keys", 400, 404)


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


@router.get("/keys", response_model=Ok[KeyList])
def list_api_keys(caller: CallerDep, session: SessionDep) -> Ok[KeyList]:
    """The subscriber's live keys (never the keys themselves)."""
    found = keys.list_keys(session, subscriber_id=caller.subscriber_id)
    return Ok(data=KeyList(keys=[key_out(k) for k in found]))


@router.post("/keys", status_code=201, response_model=Ok[KeyCreated])
def create_api_key(
    caller: CallerDep,
    session: SessionDep,
    now: ClockDep,
    body: Annotated[KeyCreate | None, Body()] = None,
) -> Ok[KeyCreated]:
    """A new key, shown this once (at most 5 live keys)."""
    name = (body or KeyCreate()).name
    key, plaintext = keys.create_key(session, subscriber=caller.subscriber, name=name, now=now)
    session.commit()
    return Ok(data=KeyCreated(**key_out(key).model_dump(), key=plaintext))


@router.delete("/keys/{key_id}", response_model=Done)
def revoke_api_key(key_id: str, caller: CallerDep, session: SessionDep, now: ClockDep) -> Done:
    """Revoke a key: every request with it is refused from now on."""
    keys.revoke_key(session, subscriber_id=caller.subscriber_id, key_id=key_id, now=now)
    session.commit()
    return Done(message="API key revoked")
