"""`/messages` (SPEC §3.5, §3.6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header, Query
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StrictInt, field_validator

from buzz.buzzchat import bot_settings, idempotency, messages
from buzz.buzzchat.auth import AccountDep, CallerDep
from buzz.buzzchat.models import BotMessage, MessageStatus
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Ok, Strict
from buzz.db import SessionDep
from buzz.web.routing import ClockDep, PageDep
from buzz.wire import CamelModel, IsoDateTime

router = new_router("Messages", 400, 404)

MAX_DELAY_MS = 3_600_000


class SendMessage(Strict):
    # The length is checked after trimming (below); the schema states the same bounds.
    message: str = Field(
        description="1..500 characters, trimmed.",
        json_schema_extra={"minLength": 1, "maxLength": 500},
    )
    delay: Annotated[StrictInt, Field(ge=0, le=MAX_DELAY_MS)] = Field(
        0, description="Milliseconds to wait before sending (0..3,600,000)."
    )

    @field_validator("message")
    @classmethod
    def _text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Message cannot be empty")
        if len(value) > 500:
            raise ValueError("Message cannot be longer than 500 characters")
        return value


class MessageSent(CamelModel):
    message_id: str
    sent_at: datetime = Field(description="When it is (or was) sent, UTC.")


class MessageOut(CamelModel):
    id: str
    message: str
    kind: str
    status: str
    send_at: datetime
    sent_at: datetime | None
    created_at: datetime


class MessageList(CamelModel):
    messages: list[MessageOut]
    count: int


@router.post("/messages/send", response_model=Ok[MessageSent])
def send_message(
    body: SendMessage,
    caller: CallerDep,
    account: AccountDep,
    session: SessionDep,
    now: ClockDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Send a chat message now or after `delay`; the bot must be active."""

    def send() -> dict[str, Any]:
        settings = bot_settings.settings_of(session, account)
        sent = messages.send(
            session,
            account=account,
            settings=settings,
            text=body.message,
            delay_ms=body.delay,
            now=now,
        )
        data = MessageSent(message_id=sent.id, sent_at=sent.send_at)
        result: dict[str, Any] = jsonable_encoder(Ok(data=data), by_alias=True)
        return result

    return idempotency.idempotent(
        session,
        key=idempotency_key,
        subscriber_id=caller.subscriber_id,
        account_id=account.id,
        operation="messages/send",
        body=body.model_dump(),
        now=now,
        act=send,
    )


def message_out(message: BotMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        message=message.text,
        kind=message.kind,
        status=message.status,
        send_at=message.send_at,
        sent_at=message.sent_at,
        created_at=message.created_at,
    )


@router.get("/messages", response_model=Ok[MessageList])
def list_bot_messages(
    account: AccountDep,
    session: SessionDep,
    page: PageDep,
    status: Annotated[
        Literal["scheduled", "sent"] | None,
        Query(description="scheduled or sent; both when omitted."),
    ] = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Only messages sent (or due) after this moment (ISO 8601)."),
    ] = None,
) -> Ok[MessageList]:
    """The bot's messages in the order they go out, for the connector that types them."""
    found = messages.list_messages(
        session,
        account_id=account.id,
        status=MessageStatus(status) if status else None,
        since=since,
        limit=page.limit,
        offset=page.offset,
    )
    return Ok(data=MessageList(messages=[message_out(m) for m in found], count=len(found)))
