"""Models to wire formats, for the platform's routes and for other domains that show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from buzz.platform import models, schemas

__all__ = ["channel_out", "history_out", "message_out", "user_out"]


def user_out(user: models.User) -> schemas.User:
    return schemas.User(id=user.id, display_name=user.display_name, email=user.email)


def channel_out(channel: models.Channel) -> schemas.Channel:
    return schemas.Channel(
        id=channel.id,
        title=channel.title,
        visibility=models.Visibility(channel.visibility),
        parent_id=channel.parent_id,
    )


def message_out(message: models.Message) -> schemas.Message:
    author: schemas.User | schemas.IntegrationAuthor
    if message.author_user is not None:
        author = user_out(message.author_user)
    else:
        author = schemas.IntegrationAuthor(
            integration_id=message.author_integration_id or "",
            name=message.author_integration_name or "",
        )
    return schemas.Message(
        id=message.id,
        channel_id=message.channel_id,
        text=message.text,
        author=author,
        created_at=message.created_at,
        kind="SLASH_COMMAND" if message.kind == "SLASH_COMMAND" else "MESSAGE",
    )


def history_out(row: Row[*tuple[Any, ...]]) -> schemas.Message:
    """A message of a history page (a row of `service.HISTORY_COLUMNS`)."""
    author: schemas.User | schemas.IntegrationAuthor
    if row.author_user_id is not None:
        author = schemas.User(
            id=row.author_user_id, display_name=row.author_display_name, email=row.author_email
        )
    else:
        author = schemas.IntegrationAuthor(
            integration_id=row.author_integration_id or "", name=row.author_integration_name or ""
        )
    return schemas.Message(
        id=row.id,
        channel_id=row.channel_id,
        text=row.text,
        author=author,
        created_at=row.created_at,
        kind="SLASH_COMMAND" if row.kind == "SLASH_COMMAND" else "MESSAGE",
    )
