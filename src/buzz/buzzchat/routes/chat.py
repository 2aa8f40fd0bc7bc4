"""`/chat/events`: the live chat, reported by a connector (SPEC §3.5)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from buzz.buzzchat import bot_settings, ingest
from buzz.buzzchat.auth import AccountDep
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Ok, Strict
from buzz.db import SessionDep
from buzz.web.routing import ClockDep
from buzz.wire import CamelModel

router = new_router("Chat", 400, 404)

MAX_EVENTS = 100


class ChatEventIn(Strict):
    type: Literal["message", "join"]
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    text: Annotated[str, StringConstraints(max_length=2000)] | None = None
    timestamp: AwareDatetime | None = Field(None, description="When it happened in the chat.")

    @model_validator(mode="after")
    def _message_has_text(self) -> ChatEventIn:
        if self.type == "message" and not (self.text and self.text.strip()):
            raise ValueError("a message event needs a non-empty text")
        return self


class ChatEvents(Strict):
    events: Annotated[list[ChatEventIn], Field(min_length=1, max_length=MAX_EVENTS)]


class Accepted(CamelModel):
    accepted: int
    bot_active: bool


@router.post("/chat/events", status_code=202, response_model=Ok[Accepted])
def report_chat_events(
    body: ChatEvents, account: AccountDep, session: SessionDep, now: ClockDep
) -> Ok[Accepted]:
    """Up to 100 chat events; the bot reacts to them while it is active."""
    settings = bot_settings.settings_of(session, account)
    chat = [
        ingest.ChatEvent(
            type=e.type,
            username=e.username,
            text=e.text,
            timestamp=e.timestamp,
        )
        for e in body.events
    ]
    ingest.ingest(session, account=account, settings=settings, chat=chat, now=now)
    session.commit()
    return Ok(data=Accepted(accepted=len(chat), bot_active=settings.bot_active))
