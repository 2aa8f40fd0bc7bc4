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
    user = message.author_user
    return _message(message, user_out(user) if user is not None else None)


def history_out(row: Row[*tuple[Any, ...]]) -> schemas.Message:
    """A message of a history page (a row of `service.HISTORY_COLUMNS`)."""
    user = None
    if row.author_user_id is not None:
        user = schemas.User(
            id=row.author_user_id, display_name=row.author_display_name, email=row.author_email
        )
    return _message(row, user)


def _message(
    source: models.Message | Row[*tuple[Any, ...]], user: schemas.User | None
) -> schemas.Message:
    """A message, from its model or its history row (the same names), by `user` if a person
    wrote it, else by the integration it names."""
    author: schemas.User | schemas.IntegrationAuthor = user or schemas.IntegrationAuthor(
        integration_id=source.author_integration_id or "",
        name=source.author_integration_name or "",
    )
    return schemas.Message(
        id=source.id,
        channel_id=source.channel_id,
        text=source.text,
        author=author,
        created_at=source.created_at,
        kind="SLASH_COMMAND" if source.kind == "SLASH_COMMAND" else "MESSAGE",
    )
