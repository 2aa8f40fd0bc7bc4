"""Bot settings of one account (SPEC §3.4): read, and patched by any subset of fields."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StringConstraints, field_validator
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from buzz.buzzchat import events
from buzz.buzzchat.models import (
    Account,
    BotMessage,
    BotSettings,
    FaqCooldown,
    MessageStatus,
    TimerState,
    new_id,
)
from buzz.buzzchat.schemas import Strict
from buzz.errors import BadRequest
from buzz.wire import CamelModel

__all__ = [
    "SettingsOut",
    "SettingsPatch",
    "read_settings",
    "settings_of",
    "update_settings",
]

MAX_TIMERS = 10
MAX_FAQ_RULES = 20
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Trigger = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class TimerMessage(CamelModel):
    id: str
    message: str
    interval_minutes: int
    enabled: bool


class FaqRule(CamelModel):
    id: str
    triggers: list[str]
    reply: str
    case_sensitive: bool
    enabled: bool


class SettingsOut(CamelModel):
    bot_active: bool
    welcome_enabled: bool
    welcome_message: str
    welcome_delay: int = Field(
        description="Milliseconds between a viewer's arrival and the welcome."
    )
    timer_enabled: bool
    timer_messages: list[TimerMessage]
    faq_enabled: bool
    faq_rules: list[FaqRule]
    giveaway_enabled: bool
    giveaway_keywords: list[str]


class TimerIn(Strict):
    id: ItemId | None = Field(None, description="Keep an existing timer's id; omit for a new one.")
    message: Text500
    interval_minutes: Annotated[StrictInt, Field(ge=1, le=1440)]
    enabled: StrictBool = True


class FaqRuleIn(Strict):
    id: ItemId | None = Field(None, description="Keep an existing rule's id; omit for a new one.")
    triggers: Annotated[list[Trigger], Field(min_length=1, max_length=10)]
    reply: Text500
    case_sensitive: StrictBool = False
    enabled: StrictBool = True


class SettingsPatch(Strict):
    """Any subset of the settings; lists replace the whole list."""

    bot_active: StrictBool | None = None
    welcome_enabled: StrictBool | None = None
    welcome_message: Text500 | None = Field(None, description="`{username}` is replaced.")
    welcome_delay: Annotated[StrictInt, Field(ge=0, le=60_000)] | None = Field(
        None, description="Milliseconds, 0..60,000."
    )
    timer_enabled: StrictBool | None = None
    timer_messages: Annotated[list[TimerIn], Field(max_length=MAX_TIMERS)] | None = None
    faq_enabled: StrictBool | None = None
    faq_rules: Annotated[list[FaqRuleIn], Field(max_length=MAX_FAQ_RULES)] | None = None
    giveaway_enabled: StrictBool | None = None
    giveaway_keywords: Annotated[list[Keyword], Field(min_length=1, max_length=10)] | None = None

    @field_validator("giveaway_keywords")
    @classmethod
    def _distinct_keywords(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({k.casefold() for k in value}) != len(value):
            raise ValueError("giveawayKeywords must be distinct")
        return value


def settings_of(session: Session, account: Account) -> BotSettings:
    found = session.get(BotSettings, account.id)
    assert found is not None, "every account is created with its settings"
    return found


def read_settings(row: BotSettings) -> SettingsOut:
    return SettingsOut(
        bot_active=row.bot_active,
        welcome_enabled=row.welcome_enabled,
        welcome_message=row.welcome_message,
        welcome_delay=row.welcome_delay,
        timer_enabled=row.timer_enabled,
        timer_messages=[TimerMessage.model_validate(t) for t in row.timer_messages],
        faq_enabled=row.faq_enabled,
        faq_rules=[FaqRule.model_validate(r) for r in row.faq_rules],
        giveaway_enabled=row.giveaway_enabled,
        giveaway_keywords=list(row.giveaway_keywords),
    )


def _with_ids(
    items: list[Any], existing: list[dict[str, Any]], *, prefix: str, field: str
) -> list[dict[str, Any]]:
    """Stored list items: given ids must name existing items, new items get new ids."""
    known = {item["id"] for item in existing}
    seen: set[str] = set()
    stored = []
    for index, item in enumerate(items):
        if item.id is not None:
            if item.id not in known:
                raise BadRequest.on(f"{field}[{index}].id", f"No existing item has id {item.id}")
            if item.id in seen:
                raise BadRequest.on(f"{field}[{index}].id", f"Duplicate id {item.id}")
            seen.add(item.id)
        data = item.model_dump(by_alias=True)
        data["id"] = item.id or new_id(prefix, 12)
        stored.append(data)
    return stored


def update_settings(
    session: Session, *, account: Account, patch: SettingsPatch, now: datetime
) -> SettingsOut:
    """Apply `patch`; starting or stopping the bot raises bot.started / bot.stopped."""
    row = settings_of(session, account)
    given = patch.model_fields_set
    was_active = row.bot_active
    timers_before = (row.timer_enabled, row.timer_messages)
    for name in (
        "bot_active",
        "welcome_enabled",
        "welcome_message",
        "welcome_delay",
        "timer_enabled",
        "faq_enabled",
        "giveaway_enabled",
        "giveaway_keywords",
    ):
        if name in given:
            setattr(row, name, getattr(patch, name))
    if patch.timer_messages is not None:
        row.timer_messages = _with_ids(
            patch.timer_messages, row.timer_messages, prefix="tmr", field="timerMessages"
        )
    if patch.faq_rules is not None:
        row.faq_rules = _with_ids(patch.faq_rules, row.faq_rules, prefix="faq", field="faqRules")
        kept = {rule["id"] for rule in row.faq_rules}
        session.execute(
            delete(FaqCooldown).where(
                FaqCooldown.account_id == account.id, FaqCooldown.rule_id.not_in(kept)
            )
        )
    row.updated_at = now
    started = row.bot_active and not was_active
    stopped = was_active and not row.bot_active
    if started:
        row.bot_session += 1
    if stopped:
        # Nothing the stopped bot had planned goes out later.
        session.execute(
            update(BotMessage)
            .where(
                BotMessage.account_id == account.id,
                BotMessage.status == MessageStatus.SCHEDULED.value,
            )
            .values(status=MessageStatus.CANCELLED.value)
        )
    if started or stopped or (row.timer_enabled, row.timer_messages) != timers_before:
        schedule_timers(session, row=row, now=now)
    session.flush()
    if started or stopped:
        events.raise_event(
            session,
            account=account,
            event_type=(
                events.WebhookEvent.BOT_STARTED if started else events.WebhookEvent.BOT_STOPPED
            ),
            data={"accountId": account.id, "timestamp": events.iso(now)},
            now=now,
        )
    return read_settings(row)


def schedule_timers(session: Session, *, row: BotSettings, now: datetime) -> None:
    """Each enabled timer of an active bot posts first one interval from now."""
    session.execute(delete(TimerState).where(TimerState.account_id == row.account_id))
    if not (row.bot_active and row.timer_enabled):
        return
    for timer in row.timer_messages:
        if timer["enabled"]:
            session.add(
                TimerState(
                    account_id=row.account_id,
                    timer_id=timer["id"],
                    next_at=now + timedelta(minutes=int(timer["intervalMinutes"])),
                )
            )
