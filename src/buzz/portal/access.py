"""Who the portal is open for: one-use links, the sessions they open, and CSRF tokens.

A link's token and a session's cookie are random (256 bits) and stored only as SHA-256; a link
is exchanged for a session at most once, within the hour it lives, by one atomic UPDATE (two
browsers opening the same link race, one wins). A session's CSRF token is derived from its
cookie (HMAC), so a page that cannot read the cookie cannot make one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from buzz.portal.models import PortalLink, PortalSession
from buzz.security import hash_secret, random_token

__all__ = [
    "LINK_LIFETIME",
    "SESSION_LIFETIME",
    "Opened",
    "Refused",
    "Viewer",
    "csrf_matches",
    "csrf_token",
    "end_session",
    "issue_link",
    "open_link",
    "purge_expired",
    "viewer_of",
]

LINK_LIFETIME = timedelta(hours=1)
# A session outlives its link: long enough to work through an incident, short enough that a
# shared computer does not keep it open for days.
SESSION_LIFETIME = timedelta(hours=8)


@dataclass(frozen=True)
class Viewer:
    """Whose portal a session shows: one integration's (Buzz) or one subscriber's (BuzzChat)."""

    integration_id: str | None
    subscriber_id: str | None
    expires_at: datetime

    @property
    def family(self) -> str:
        return "buzz" if self.integration_id is not None else "buzzchat"


@dataclass(frozen=True)
class Opened:
    """A session a link opened: the cookie to set, and until when."""

    cookie: str
    viewer: Viewer


def issue_link(
    session: Session,
    *,
    integration_id: str | None = None,
    subscriber_id: str | None = None,
    now: datetime,
) -> tuple[str, datetime]:
    """A new link's token for the integration or the subscriber, and when it expires."""
    if (integration_id is None) == (subscriber_id is None):
        raise ValueError("a portal link is for one integration or one subscriber")
    token = random_token()
    expires = now + LINK_LIFETIME
    session.add(
        PortalLink(
            token_hash=hash_secret(token),
            integration_id=integration_id,
            subscriber_id=subscriber_id,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return token, expires


@dataclass(frozen=True)
class Refused:
    """Why a link opened nothing: its page's status (404 forged, 410 used or expired) and a
    sentence."""

    status: int
    message: str


def open_link(session: Session, token: str, *, now: datetime) -> Opened | Refused:
    """Exchange a link's token for a new session; or, when it cannot be, why."""
    claimed = session.execute(
        update(PortalLink)
        .where(
            PortalLink.token_hash == hash_secret(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(PortalLink.integration_id, PortalLink.subscriber_id)
    ).one_or_none()
    if claimed is None:
        return _why_not(session, token, now=now)
    cookie = random_token()
    expires = now + SESSION_LIFETIME
    session.add(
        PortalSession(
            token_hash=hash_secret(cookie),
            integration_id=claimed.integration_id,
            subscriber_id=claimed.subscriber_id,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return Opened(cookie, Viewer(claimed.integration_id, claimed.subscriber_id, expires))


def _why_not(session: Session, token: str, *, now: datetime) -> Refused:
    link = session.scalar(select(PortalLink).where(PortalLink.token_hash == hash_secret(token)))
    if link is None:
        return Refused(404, "This portal link is not one of ours: check that it was copied whole.")
    if link.used_at is not None:
        return Refused(
            410, "This portal link has already been used: each link opens the portal once."
        )
    return Refused(410, "This portal link has expired: links last one hour.")


def viewer_of(session: Session, cookie: str | None, *, now: datetime) -> Viewer | None:
    """Whose portal the session cookie opens, while it lives."""
    if not cookie or len(cookie) > 128:
        return None
    found = session.scalar(
        select(PortalSession).where(
            PortalSession.token_hash == hash_secret(cookie), PortalSession.expires_at > now
        )
    )
    if found is None:
        return None
    return Viewer(found.integration_id, found.subscriber_id, found.expires_at)


def end_session(session: Session, cookie: str | None) -> None:
    """Log out: the session is gone, its cookie opens nothing any more."""
    if cookie:
        session.execute(
            delete(PortalSession).where(PortalSession.token_hash == hash_secret(cookie))
        )


def csrf_token(cookie: str) -> str:
    """The CSRF token of the session whose cookie this is: every form of its pages carries it."""
    return hmac.new(cookie.encode(), b"buzz-portal-csrf", hashlib.sha256).hexdigest()


def csrf_matches(cookie: str, token: str | None) -> bool:
    """Whether a form's token is its session's, compared in constant time."""
    return token is not None and hmac.compare_digest(csrf_token(cookie), token)


def purge_expired(session: Session, *, now: datetime) -> int:
    """Housekeeping: links and sessions that expired go (a used link a day after it expired,
    so a late click still hears that it was used)."""
    links = session.execute(
        delete(PortalLink).where(PortalLink.expires_at < now - timedelta(days=1))
    )
    sessions = session.execute(delete(PortalSession).where(PortalSession.expires_at < now))
    return int(links.rowcount or 0) + int(sessions.rowcount or 0)  # type: ignore[attr-defined]
