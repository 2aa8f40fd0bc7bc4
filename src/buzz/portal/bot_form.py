"""The bot's settings as an HTML form: the API's settings written into fields, and a sent form
read back into the very body `PATCH /api/v1/settings` takes, for the API's model to judge.

A form sends only text, so each field is turned into the JSON value a client would send (a
checkbox's "true"/"false", an integer, a list from one entry a line) and anything else is passed
through as typed: the model then refuses it with the API's own message. Fields a form leaves out
are left out of the body, so a small form (the bot's on/off button) patches only what it sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.datastructures import FormData

from buzz.buzzchat.bot_settings import MAX_FAQ_RULES, MAX_TIMERS, SettingsOut
from buzz.errors import FieldError

__all__ = ["BotForm", "Problem", "RuleRow", "Sent", "TimerRow", "integer_of", "problems", "read"]

# However many rows a form claims, no more are read; the API's model refuses over 20 or 10.
MAX_ROWS = 50
_FLAGS = {"true": True, "false": False}
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
_ITEM = re.compile(r"^(faqRules|timerMessages)\[(\d+)\](?:\.(\w+))?")
_ROW_PREFIX = {"faqRules": "faq", "timerMessages": "timer"}
_LABELS = {
    "botActive": "Bot on or off",
    "welcomeEnabled": "Welcome new viewers",
    "welcomeMessage": "Welcome message",
    "welcomeDelay": "Welcome delay",
    "timerEnabled": "Post timers",
    "timerMessages": "Timers",
    "faqEnabled": "Answer FAQs",
    "faqRules": "FAQ rules",
    "giveawayEnabled": "Take giveaway entries",
    "giveawayKeywords": "Giveaway keywords",
}
_ITEM_LABELS = {
    "triggers": "triggers",
    "reply": "reply",
    "caseSensitive": "case sensitive",
    "enabled": "on",
    "message": "message",
    "intervalMinutes": "every (minutes)",
    "id": "id",
}


@dataclass
class RuleRow:
    """One FAQ rule as its fields show it (triggers one a line)."""

    id: str = ""
    triggers: str = ""
    reply: str = ""
    case_sensitive: bool = False
    enabled: bool = True
    delete: bool = False

    @property
    def blank(self) -> bool:
        return not self.id and not self.triggers.strip() and not self.reply.strip()


@dataclass
class TimerRow:
    """One timer as its fields show it."""

    id: str = ""
    message: str = ""
    interval_minutes: str = ""
    enabled: bool = True
    delete: bool = False

    @property
    def blank(self) -> bool:
        return not self.id and not self.message.strip() and not self.interval_minutes.strip()


@dataclass
class BotForm:
    """What the settings form shows: the stored settings, or what was typed into it."""

    bot_active: bool
    welcome_enabled: bool
    welcome_message: str
    welcome_delay: str
    timer_enabled: bool
    timers: list[TimerRow]
    faq_enabled: bool
    rules: list[RuleRow]
    giveaway_enabled: bool
    giveaway_keywords: str

    @classmethod
    def of(cls, settings: SettingsOut) -> BotForm:
        return cls(
            bot_active=settings.bot_active,
            welcome_enabled=settings.welcome_enabled,
            welcome_message=settings.welcome_message,
            welcome_delay=str(settings.welcome_delay),
            timer_enabled=settings.timer_enabled,
            timers=[
                TimerRow(t.id, t.message, str(t.interval_minutes), t.enabled)
                for t in settings.timer_messages
            ],
            faq_enabled=settings.faq_enabled,
            rules=[
                RuleRow(r.id, "\n".join(r.triggers), r.reply, r.case_sensitive, r.enabled)
                for r in settings.faq_rules
            ],
            giveaway_enabled=settings.giveaway_enabled,
            giveaway_keywords="\n".join(settings.giveaway_keywords),
        )

    def with_new_rows(self) -> BotForm:
        """The same, with an empty row to add a rule and one to add a timer (room allowing)."""
        rules, timers = list(self.rules), list(self.timers)
        if len(rules) < MAX_FAQ_RULES and not (rules and rules[-1].blank):
            rules.append(RuleRow())
        if len(timers) < MAX_TIMERS and not (timers and timers[-1].blank):
            timers.append(TimerRow())
        return replace(self, rules=rules, timers=timers)


@dataclass(frozen=True)
class Sent:
    """A sent settings form: the PATCH body it means, and the form to show again if refused."""

    body: dict[str, Any]
    form: BotForm
    # body["faqRules"][i] came from the form's rule row rule_rows[i] (deleted and empty rows
    # are not sent); the same for timers.
    rule_rows: list[int] = field(default_factory=list)
    timer_rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """A refusal as the form shows it: beside which field, its label, the API's message."""

    control: str  # the id of the field (or row, or section) it is shown beside
    label: str
    api_field: str
    message: str


def _last(form: FormData, name: str) -> str | None:
    # A checkbox follows a hidden "false" of the same name: the last value sent wins.
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return values[-1] if values else None


def _flag(value: str) -> bool | str:
    return _FLAGS.get(value, value)


def integer_of(value: str) -> int | str:
    """A field's integer, as a client would send it; else the text as typed, for the model to
    refuse."""
    return int(value) if _INTEGER.fullmatch(value.strip()) else value


def _text(value: str) -> str:
    return value.replace("\r\n", "\n")  # browsers send a textarea's line breaks as CRLF


def _lines(value: str) -> list[str]:
    return [line for line in value.splitlines() if line.strip()]


def read(form: FormData, shown: BotForm) -> Sent:
    """The PATCH body of a sent settings form (only the fields it sent), and what it showed."""
    body: dict[str, Any] = {}
    typed = replace(shown)

    def scalar(name: str, attr: str, convert: Callable[[str], Any], show: Any = None) -> None:
        value = _last(form, name)
        if value is None:
            return
        body[name] = convert(value)
        setattr(typed, attr, show(value) if show else body[name])

    def flag_shown(value: str) -> bool:
        return _flag(value) is True

    scalar("botActive", "bot_active", _flag, flag_shown)
    scalar("welcomeEnabled", "welcome_enabled", _flag, flag_shown)
    scalar("welcomeMessage", "welcome_message", _text)
    scalar("welcomeDelay", "welcome_delay", integer_of, str)
    scalar("timerEnabled", "timer_enabled", _flag, flag_shown)
    scalar("faqEnabled", "faq_enabled", _flag, flag_shown)
    scalar("giveawayEnabled", "giveaway_enabled", _flag, flag_shown)
    scalar("giveawayKeywords", "giveaway_keywords", _lines, _text)

    rule_rows: list[int] = []
    timer_rows: list[int] = []
    if (count := _row_count(form, "faqRules")) is not None:
        typed.rules, body["faqRules"], rule_rows = _rules(form, count)
    if (count := _row_count(form, "timerMessages")) is not None:
        typed.timers, body["timerMessages"], timer_rows = _timers(form, count)
    return Sent(body=body, form=typed, rule_rows=rule_rows, timer_rows=timer_rows)


def _row_count(form: FormData, name: str) -> int | None:
    value = _last(form, name)
    if value is None:
        return None
    return min(int(value), MAX_ROWS) if value.isascii() and value.isdigit() else 0


def _item(form: FormData, prefix: str, index: int, name: str) -> str | None:
    return _last(form, f"{prefix}-{index}-{name}")


def _rules(form: FormData, count: int) -> tuple[list[RuleRow], list[dict[str, Any]], list[int]]:
    rows, items, positions = [], [], []
    for index in range(count):
        row = RuleRow(
            id=_item(form, "faq", index, "id") or "",
            triggers=_text(_item(form, "faq", index, "triggers") or ""),
            reply=_text(_item(form, "faq", index, "reply") or ""),
            case_sensitive=_item(form, "faq", index, "caseSensitive") == "true",
            enabled=_item(form, "faq", index, "enabled") != "false",
            delete=_item(form, "faq", index, "delete") == "true",
        )
        rows.append(row)
        if row.delete or row.blank:
            continue
        item: dict[str, Any] = {"triggers": _lines(row.triggers), "reply": row.reply}
        for name in ("caseSensitive", "enabled"):
            if (value := _item(form, "faq", index, name)) is not None:
                item[name] = _flag(value)
        if row.id:
            item["id"] = row.id
        items.append(item)
        positions.append(index)
    return rows, items, positions


def _timers(form: FormData, count: int) -> tuple[list[TimerRow], list[dict[str, Any]], list[int]]:
    rows, items, positions = [], [], []
    for index in range(count):
        row = TimerRow(
            id=_item(form, "timer", index, "id") or "",
            message=_text(_item(form, "timer", index, "message") or ""),
            interval_minutes=_item(form, "timer", index, "intervalMinutes") or "",
            enabled=_item(form, "timer", index, "enabled") != "false",
            delete=_item(form, "timer", index, "delete") == "true",
        )
        rows.append(row)
        if row.delete or row.blank:
            continue
        item: dict[str, Any] = {
            "message": row.message,
            "intervalMinutes": integer_of(row.interval_minutes),
        }
        if (value := _item(form, "timer", index, "enabled")) is not None:
            item["enabled"] = _flag(value)
        if row.id:
            item["id"] = row.id
        items.append(item)
        positions.append(index)
    return rows, items, positions


def problems(errors: list[FieldError], sent: Sent) -> list[Problem]:
    """Each refusal placed beside the field of the form it is about (rows by their place in
    the form, which deleted or empty rows before them shift from their place in the body)."""
    placed = []
    for error in errors:
        found = _ITEM.match(error.field)
        if found is None:
            name = error.field.split("[", 1)[0]
            label = _LABELS.get(name, error.field)
            placed.append(Problem(name, label, error.field, error.message))
            continue
        section, index, attribute = found.group(1), int(found.group(2)), found.group(3)
        rows = sent.rule_rows if section == "faqRules" else sent.timer_rows
        row = rows[index] if index < len(rows) else index
        control = f"{_ROW_PREFIX[section]}-{row}"
        noun = "FAQ rule" if section == "faqRules" else "Timer"
        label = f"{noun} {row + 1}"
        if attribute in _ITEM_LABELS and attribute != "id":
            control = f"{control}-{attribute}"
            label = f"{label}: {_ITEM_LABELS[attribute]}"
        placed.append(Problem(control, label, error.field, error.message))
    return placed
