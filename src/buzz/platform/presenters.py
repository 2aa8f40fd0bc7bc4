"""Models to wire formats, for the platform's routes and for other domains that show them."""

from __future__ import annotations

from buzz.platform import models, schemas

__all__ = ["channel_out", "message_out", "user_out"]


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
