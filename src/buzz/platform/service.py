"""The chat platform's rules: users, channels, membership, threads, messages (SPEC §2.2).

Services never commit: the route (or worker, or CLI) that called them does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.orm.util import AliasedClass

from buzz.db import new_uuid
from buzz.errors import BadRequest, Conflict, Forbidden, NotFound
from buzz.platform import events
from buzz.platform.models import Channel, ChannelMember, Message, MessageKind, User, Visibility

__all__ = [
    "accessible",
    "add_members",
    "can_access",
    "create_channel",
    "create_thread",
    "create_user",
    "get_accessible_channel",
    "list_channels",
    "list_members",
    "list_messages",
    "list_threads",
    "post_message",
    "remove_member",
]

MAX_MESSAGE_CHARS = 10_000


def create_user(session: Session, *, display_name: str, email: str, now: datetime) -> User:
    """A new user; emails are unique, compared without case."""
    email = email.strip()
    taken = session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if taken is not None:
        raise Conflict(f"A user with email {email} already exists")
    user = User(display_name=display_name.strip(), email=email, created_at=now)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A user with email {email} already exists") from None
    return user


def accessible(
    channel: type[Channel] | AliasedClass[Channel],
    user_id: ColumnElement[int] | QueryableAttribute[int] | int,
) -> ColumnElement[bool]:
    """SQL: `user_id` can access `channel` (public, or a member of its top-level channel)."""
    return or_(
        channel.visibility == Visibility.PUBLIC.value,
        # Correlate to every enclosing table but the membership one, however deeply nested.
        exists()
        .where(ChannelMember.channel_id == channel.parent_id, ChannelMember.user_id == user_id)
        .correlate_except(ChannelMember),
    )


def can_access(session: Session, *, user_id: int, channel: Channel) -> bool:
    """Whether the user can see and post in `channel` (or its thread)."""
    if channel.visibility == Visibility.PUBLIC.value:
        return True
    return is_member(session, user_id=user_id, channel=channel)


def is_member(session: Session, *, user_id: int, channel: Channel) -> bool:
    """Whether the user is a member of the channel (of the parent, for a thread)."""
    key = (channel.parent_id, user_id)
    return session.get(ChannelMember, key) is not None


def get_accessible_channel(session: Session, *, user: User, channel_id: str) -> Channel:
    """The channel, if it exists and `user` can access it; 404 otherwise (no existence leak)."""
    channel = session.get(Channel, channel_id)
    if channel is None or not can_access(session, user_id=user.id, channel=channel):
        raise NotFound(f"Channel {channel_id} not found")
    return channel


def create_channel(
    session: Session, *, creator: User, title: str, visibility: Visibility, now: datetime
) -> Channel:
    """A new top-level channel; its creator is its first member."""
    channel = Channel(
        title=title, visibility=visibility.value, creator_id=creator.id, created_at=now
    )
    channel.parent_id = channel.id = new_uuid()
    session.add(channel)
    session.flush()
    session.add(ChannelMember(channel_id=channel.id, user_id=creator.id, joined_at=now))
    session.flush()
    return channel


SelectT = TypeVar("SelectT", bound=Select[Any])


def _paged(query: SelectT, limit: int, offset: int) -> SelectT:
    return query.order_by(Channel.created_at, Channel.id).limit(limit).offset(offset)


def list_channels(session: Session, *, user: User, limit: int, offset: int) -> Sequence[Channel]:
    """Top-level channels `user` can access, oldest first."""
    query = select(Channel).where(Channel.id == Channel.parent_id, accessible(Channel, user.id))
    return session.scalars(_paged(query, limit, offset)).all()


def create_thread(
    session: Session,
    bus: events.EventBus,
    *,
    creator: User,
    parent: Channel,
    title: str,
    now: datetime,
) -> Channel:
    """A thread on `parent`, sharing its visibility and members; raises THREAD_CREATED."""
    if parent.is_thread:
        raise BadRequest.on("channelId", "Threads cannot have threads of their own")
    thread = Channel(
        id=new_uuid(),
        parent_id=parent.id,
        title=title,
        visibility=parent.visibility,
        creator_id=creator.id,
        created_at=now,
    )
    session.add(thread)
    session.flush()
    bus.publish(
        session,
        events.ChannelEvent(
            type="THREAD_CREATED", channel=parent, thread=thread, author=creator, occurred_at=now
        ),
    )
    return thread


def list_threads(
    session: Session, *, parent: Channel, limit: int, offset: int
) -> Sequence[Channel]:
    """Threads of `parent`, oldest first."""
    query = select(Channel).where(Channel.parent_id == parent.id, Channel.id != parent.id)
    return session.scalars(_paged(query, limit, offset)).all()


def list_members(session: Session, *, channel: Channel, limit: int, offset: int) -> Sequence[User]:
    """Members of the channel (of its parent, for a thread), in the order they joined."""
    query = (
        select(User)
        .join(ChannelMember, ChannelMember.user_id == User.id)
        .where(ChannelMember.channel_id == channel.parent_id)
        .order_by(ChannelMember.joined_at, User.id)
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(query).all()


def add_members(
    session: Session,
    bus: events.EventBus,
    *,
    actor: User,
    channel: Channel,
    user_ids: Sequence[int],
    now: datetime,
) -> list[User]:
    """Add users to a channel; returns those who were not members yet (USERS_JOINED_CHANNEL).

    Anyone may join a public channel themselves; only members may add other people.
    """
    if channel.is_thread:
        raise BadRequest.on("channelId", "A thread shares its parent's members; add them there")
    wanted = list(dict.fromkeys(user_ids))
    actor_is_member = is_member(session, user_id=actor.id, channel=channel)
    if not actor_is_member and wanted != [actor.id]:
        raise Forbidden("Only members of this channel can add other users")
    users = session.scalars(select(User).where(User.id.in_(wanted))).all()
    by_id = {user.id: user for user in users}
    missing = [user_id for user_id in wanted if user_id not in by_id]
    if missing:
        raise BadRequest.on("userIds", f"No such user: {', '.join(map(str, missing))}")
    present = set(
        session.scalars(
            select(ChannelMember.user_id).where(
                ChannelMember.channel_id == channel.id, ChannelMember.user_id.in_(wanted)
            )
        )
    )
    joined = [by_id[user_id] for user_id in wanted if user_id not in present]
    for user in joined:
        session.add(ChannelMember(channel_id=channel.id, user_id=user.id, joined_at=now))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Membership changed concurrently; retry the request") from None
    if joined:
        bus.publish(
            session,
            events.ChannelEvent(
                type="USERS_JOINED_CHANNEL",
                channel=channel,
                users=tuple(joined),
                author=actor,
                occurred_at=now,
            ),
        )
    return joined


def remove_member(
    session: Session,
    bus: events.EventBus,
    *,
    actor: User,
    channel: Channel,
    user_id: int,
    now: datetime,
) -> None:
    """Remove a member: oneself, or anyone if `actor` created the channel (USERS_LEFT_CHANNEL)."""
    if channel.is_thread:
        raise BadRequest.on("channelId", "A thread shares its parent's members; remove them there")
    if user_id != actor.id and channel.creator_id != actor.id:
        raise Forbidden("Only the channel's creator can remove other members")
    membership = session.get(ChannelMember, (channel.id, user_id))
    if membership is None:
        raise NotFound(f"User {user_id} is not a member of channel {channel.id}")
    user = session.get(User, user_id)
    session.delete(membership)
    session.flush()
    assert user is not None
    bus.publish(
        session,
        events.ChannelEvent(
            type="USERS_LEFT_CHANNEL", channel=channel, users=(user,), author=actor, occurred_at=now
        ),
    )


def post_message(
    session: Session,
    bus: events.EventBus,
    *,
    author: User,
    channel: Channel,
    text: str,
    now: datetime,
) -> Message:
    """A user's message in `channel`; raises MESSAGE_POSTED, or SLASH_COMMAND when an
    integration active here handles its `/command` (such messages stay out of the history)."""
    routed = bus.is_routed_command(session, channel, text)
    message = Message(
        channel_id=channel.id,
        text=text,
        kind=(MessageKind.SLASH_COMMAND if routed else MessageKind.MESSAGE).value,
        author_user_id=author.id,
        created_at=now,
    )
    message.author_user = author
    session.add(message)
    session.flush()
    bus.publish(
        session,
        events.ChannelEvent(
            type="MESSAGE_POSTED", channel=channel, author=author, message=message, occurred_at=now
        ),
    )
    return message


# A history page is read as columns, not as Message objects: a page of 50 costs a third less.
HISTORY_COLUMNS = (
    Message.id,
    Message.channel_id,
    Message.text,
    Message.kind,
    Message.created_at,
    Message.author_integration_id,
    Message.author_integration_name,
    User.id.label("author_user_id"),
    User.display_name.label("author_display_name"),
    User.email.label("author_email"),
)


def list_messages(
    session: Session, *, channel: Channel, limit: int, offset: int = 0, before: str | None
) -> tuple[Sequence[Row[*tuple[Any, ...]]], str | None]:
    """A page of the channel's history, newest first (rows of HISTORY_COLUMNS), and the
    cursor of the next page."""
    query = (
        select(*HISTORY_COLUMNS)
        .outerjoin(User, User.id == Message.author_user_id)
        .where(Message.channel_id == channel.id, Message.kind == MessageKind.MESSAGE.value)
    )
    if before is not None:
        anchor = session.scalar(
            select(Message.seq).where(Message.id == before, Message.channel_id == channel.id)
        )
        if anchor is None:
            raise BadRequest.on("before", f"No message {before} in this channel")
        query = query.where(Message.seq < anchor)
    rows: Sequence[Row[*tuple[Any, ...]]] = session.execute(
        query.order_by(Message.seq.desc()).offset(offset).limit(limit + 1)
    ).all()
    page = rows[:limit]
    cursor: str | None = page[-1].id if len(rows) > limit else None
    return page, cursor
