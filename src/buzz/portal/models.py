"""The portal's tables: the one-use links the API hands out, and the sessions they open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from buzz.db import Base, BigIntPK, UTCDateTime

__all__ = ["PortalLink", "PortalSession"]


class _Whose:
    """Whose portal a row opens: exactly one of an integration or a BuzzChat subscriber."""

    integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    subscriber_id: Mapped[str | None] = mapped_column(
        ForeignKey("bz_subscribers.id", ondelete="CASCADE"), index=True
    )


class PortalLink(_Whose, Base):
    """A link that opens one session for one integration or one subscriber: stored as the
    SHA-256 of its token, used at most once, dead an hour after it was made."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PortalSession(_Whose, Base):
    """A browser's portal session: the SHA-256 of its cookie, whose portal, until when."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
