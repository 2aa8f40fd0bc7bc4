"""Routes of the chat platform: users, channels, members, threads, messages (SPEC §2.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from buzz.db import SessionDep
from buzz.platform import service
from buzz.platform.auth import CurrentUser
from buzz.platform.errors_schema import buzz_errors
from buzz.platform.events import BusDep
from buzz.platform.presenters import channel_out, history_out, message_out, user_out
from buzz.platform.schemas import (
    AddMembers,
    Channel,
    ChannelCreate,
    ChannelList,
    MemberList,
    Message,
    MessageCreate,
    MessagePage,
    ThreadCreate,
    User,
    UserList,
)
from buzz.web.routing import ClockDep, JSONRoute, PageDep

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/buzz",
    route_class=JSONRoute,
    responses=buzz_errors(400, 401),
)
ChannelId = Annotated[str, "channel id"]


@router.get("/users/me", response_model=User, tags=["Users"])
def get_me(user: CurrentUser) -> User:
    """The user the access token acts as."""
    return user_out(user)


@router.post(
    "/channels",
    status_code=201,
    response_model=Channel,
    tags=["Channels"],
    responses=buzz_errors(413, 415),
)
def create_channel(
    body: ChannelCreate, user: CurrentUser, session: SessionDep, now: ClockDep
) -> Channel:
    """Create a top-level channel; the caller becomes its first member."""
    channel = service.create_channel(
        session, creator=user, title=body.title, visibility=body.visibility, now=now
    )
    session.commit()
    return channel_out(channel)


@router.get("/channels", response_model=ChannelList, tags=["Channels"])
def list_channels(user: CurrentUser, session: SessionDep, page: PageDep) -> ChannelList:
    """Top-level channels the caller can access: every public one and those they belong to."""
    channels = service.list_channels(session, user=user, limit=page.limit, offset=page.offset)
    return ChannelList(channels=[channel_out(c) for c in channels])


@router.get(
    "/channels/{channel_id}", response_model=Channel, tags=["Channels"], responses=buzz_errors(404)
)
def get_channel(channel_id: str, user: CurrentUser, session: SessionDep) -> Channel:
    """A channel or thread the caller can access."""
    return channel_out(service.get_accessible_channel(session, user=user, channel_id=channel_id))


@router.get(
    "/channels/{channel_id}/members",
    response_model=MemberList,
    tags=["Channels"],
    responses=buzz_errors(404),
)
def list_members(
    channel_id: str, user: CurrentUser, session: SessionDep, page: PageDep
) -> MemberList:
    """Members of a channel (a thread's are its parent's)."""
    channel = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    members = service.list_members(session, channel=channel, limit=page.limit, offset=page.offset)
    return MemberList(members=[user_out(m) for m in members])


@router.post(
    "/channels/{channel_id}/members",
    response_model=UserList,
    tags=["Channels"],
    responses=buzz_errors(403, 404, 413, 415),
)
def add_members(
    channel_id: str,
    body: AddMembers,
    user: CurrentUser,
    session: SessionDep,
    bus: BusDep,
    now: ClockDep,
) -> UserList:
    """Add users to a channel; answers with those who were not members yet.

    Anyone may join a public channel themselves; members may add anyone.
    """
    channel = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    joined = service.add_members(
        session, bus, actor=user, channel=channel, user_ids=body.user_ids, now=now
    )
    session.commit()
    return UserList(users=[user_out(u) for u in joined])


@router.delete(
    "/channels/{channel_id}/members/{user_id}",
    status_code=204,
    tags=["Channels"],
    responses=buzz_errors(403, 404),
)
def remove_member(
    channel_id: str,
    user_id: int,
    user: CurrentUser,
    session: SessionDep,
    bus: BusDep,
    now: ClockDep,
) -> None:
    """Leave a channel, or (as its creator) remove someone from it."""
    channel = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    service.remove_member(session, bus, actor=user, channel=channel, user_id=user_id, now=now)
    session.commit()


@router.post(
    "/channels/{channel_id}/threads",
    status_code=201,
    response_model=Channel,
    tags=["Channels"],
    responses=buzz_errors(404, 413, 415),
)
def create_thread(
    channel_id: str,
    body: ThreadCreate,
    user: CurrentUser,
    session: SessionDep,
    bus: BusDep,
    now: ClockDep,
) -> Channel:
    """Start a thread on a channel."""
    parent = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    thread = service.create_thread(
        session, bus, creator=user, parent=parent, title=body.title, now=now
    )
    session.commit()
    return channel_out(thread)


@router.get(
    "/channels/{channel_id}/threads",
    response_model=ChannelList,
    tags=["Channels"],
    responses=buzz_errors(404),
)
def list_threads(
    channel_id: str, user: CurrentUser, session: SessionDep, page: PageDep
) -> ChannelList:
    """Threads of a channel, oldest first."""
    parent = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    threads = service.list_threads(session, parent=parent, limit=page.limit, offset=page.offset)
    return ChannelList(channels=[channel_out(t) for t in threads])


@router.post(
    "/channels/{channel_id}/messages",
    status_code=201,
    response_model=Message,
    tags=["Messages"],
    responses=buzz_errors(404, 413, 415),
)
def post_message(
    channel_id: str,
    body: MessageCreate,
    user: CurrentUser,
    session: SessionDep,
    bus: BusDep,
    now: ClockDep,
) -> Message:
    """Post a message in a channel or thread."""
    channel = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    message = service.post_message(
        session, bus, author=user, channel=channel, text=body.text, now=now
    )
    session.commit()
    return message_out(message)


@router.get(
    "/channels/{channel_id}/messages",
    response_model=MessagePage,
    tags=["Messages"],
    responses=buzz_errors(404),
)
def list_messages(
    channel_id: str,
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    before: Annotated[
        str | None, Query(description="The `next` cursor of the previous page.")
    ] = None,
) -> MessagePage:
    """The channel's history, newest first; page with `before` (a cursor) or `offset`."""
    channel = service.get_accessible_channel(session, user=user, channel_id=channel_id)
    messages, cursor = service.list_messages(
        session, channel=channel, limit=page.limit, offset=page.offset, before=before
    )
    return MessagePage(messages=[history_out(m) for m in messages], next=cursor)
