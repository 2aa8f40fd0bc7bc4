"""Wire formats of the chat platform (Buzz family)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from buzz.platform.models import Visibility
from buzz.wire import CamelModel, NullMeansAbsent

__all__ = [
    "AddMembers",
    "Channel",
    "ChannelCreate",
    "ChannelList",
    "IntegrationAuthor",
    "MemberList",
    "Message",
    "MessageCreate",
    "MessagePage",
    "ThreadCreate",
    "TokenResponse",
    "User",
    "UserList",
]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class User(CamelModel):
    """A Buzz user."""

    id: int
    display_name: str
    email: str


class UserList(CamelModel):
    users: list[User]


class MemberList(CamelModel):
    members: list[User]


class TokenResponse(CamelModel):
    """An OAuth 2.0 access token (client credentials grant)."""

    access_token: str = Field(alias="access_token")
    token_type: Literal["bearer"] = Field(default="bearer", alias="token_type")
    expires_in: int = Field(alias="expires_in", description="Seconds until the token expires.")
    scope: str = Field(default="buzz", alias="scope")
    user_id: int = Field(description="The user the token acts as.")


class ChannelCreate(NullMeansAbsent):
    """A new top-level channel."""

    title: Title
    visibility: Visibility = Visibility.PUBLIC


class ThreadCreate(NullMeansAbsent):
    """A new thread on a channel."""

    title: Title


class Channel(CamelModel):
    """A channel; a thread's `parentId` is its parent channel, a top-level channel's its own id."""

    id: str
    title: str
    visibility: Visibility
    parent_id: str


class ChannelList(CamelModel):
    channels: list[Channel]


class AddMembers(NullMeansAbsent):
    """Users to add to a channel."""

    user_ids: list[int] = Field(min_length=1, max_length=1000)


class MessageCreate(NullMeansAbsent):
    """A message to post."""

    text: str = Field(min_length=1, max_length=10_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Message text cannot be blank")
        return value


class IntegrationAuthor(CamelModel):
    """The author of a message posted by an integration through its callback."""

    integration_id: str
    name: str


class Message(CamelModel):
    """A message in a channel."""

    id: str
    channel_id: str
    text: str
    author: User | IntegrationAuthor
    created_at: datetime
    kind: Literal["MESSAGE", "SLASH_COMMAND"]


class MessagePage(CamelModel):
    """A page of history, newest first; pass `next` as `before` for the following page."""

    messages: list[Message]
    next: str | None
