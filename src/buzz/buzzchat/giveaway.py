"""Giveaways (SPEC §3.7): one entry per username per round, fair picks that never repeat."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from buzz.buzzchat import counts, events
from buzz.buzzchat.models import Account, BotSettings, GiveawayEntry
from buzz.errors import BadRequest

__all__ = ["clear", "enter", "entries", "pick_winners"]

_random = secrets.SystemRandom()
ENTRIES: Table = GiveawayEntry.__table__  # type: ignore[assignment]


def entries(session: Session, *, settings: BotSettings) -> Sequence[GiveawayEntry]:
    """This round's entries, oldest first."""
    query = (
        select(GiveawayEntry)
        .where(
            GiveawayEntry.account_id == settings.account_id,
            GiveawayEntry.round == settings.giveaway_round,
        )
        .order_by(GiveawayEntry.entered_at, GiveawayEntry.id)
    )
    return session.scalars(query).all()


def enter(
    session: Session,
    *,
    account: Account,
    settings: BotSettings,
    username: str,
    entered_at: datetime,
    now: datetime,
) -> tuple[GiveawayEntry, bool]:
    """The username's entry in this round, and whether it is new (raising giveaway.entry)."""
    key = username.casefold()
    created = counts.insert_new(
        session,
        ENTRIES,
        {
            "account_id": account.id,
            "round": settings.giveaway_round,
            "username": username,
            "username_key": key,
            "entered_at": entered_at,
        },
        keys=["account_id", "round", "username_key"],
    )
    entry = session.scalars(
        select(GiveawayEntry).where(
            GiveawayEntry.account_id == account.id,
            GiveawayEntry.round == settings.giveaway_round,
            GiveawayEntry.username_key == key,
        )
    ).one()
    if not created:
        return entry, False
    events.raise_event(
        session,
        account=account,
        event_type=events.WebhookEvent.GIVEAWAY_ENTRY,
        data={"username": username, "entryTime": events.iso(entered_at), "accountId": account.id},
        now=now,
    )
    return entry, True


def pick_winners(
    session: Session, *, account: Account, settings: BotSettings, count: int, now: datetime
) -> list[str]:
    """`count` winners drawn uniformly without replacement among entries yet to win this round."""
    eligible = session.scalars(
        select(GiveawayEntry)
        .where(
            GiveawayEntry.account_id == account.id,
            GiveawayEntry.round == settings.giveaway_round,
            GiveawayEntry.won_at.is_(None),
        )
        .order_by(GiveawayEntry.id)
        .with_for_update()
    ).all()
    if not eligible:
        raise BadRequest.on("count", "No eligible entries to pick a winner from")
    if count > len(eligible):
        raise BadRequest.on(
            "count", f"Only {len(eligible)} eligible entries; cannot pick {count} winners"
        )
    chosen = _random.sample(list(eligible), count)
    for entry in chosen:
        entry.won_at = now
    winners = [entry.username for entry in chosen]
    session.flush()
    events.raise_event(
        session,
        account=account,
        event_type=events.WebhookEvent.GIVEAWAY_WINNER,
        data={"winners": winners, "timestamp": events.iso(now), "accountId": account.id},
        now=now,
    )
    return winners


def clear(session: Session, *, settings: BotSettings) -> None:
    """Remove every entry and start a new round."""
    session.execute(delete(GiveawayEntry).where(GiveawayEntry.account_id == settings.account_id))
    settings.giveaway_round += 1
    session.flush()
