"""The seller's dashboard in the portal (SPEC §7): analytics as charts and tables, the giveaway
and the bot's settings, for a BuzzChat subscriber's session (a Buzz integration's gets 404).

Everything acts on the subscriber's active account, as the REST API does without `?account=`,
through the same service functions its routes call; forms are read into the API's own request
models, so a refusal names the same field with the same sentence, shown beside that field with
what was typed kept. Each form carries the account it was rendered for: a switch of the active
account in between is a 409, never a change to the other account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from buzz.buzzchat import accounts, analytics, bot_settings, giveaway, idempotency
from buzz.buzzchat.analytics import Period
from buzz.buzzchat.bot_settings import SettingsOut, SettingsPatch
from buzz.buzzchat.models import Account, BotSettings, GiveawayEntry, MessageKind
from buzz.buzzchat.routes.analytics import PeriodQuery
from buzz.buzzchat.routes.giveaway import PickWinner, Winners
from buzz.buzzchat.schemas import Ok
from buzz.db import SessionDep
from buzz.errors import BadRequest, Conflict, FieldError, NotFound
from buzz.portal import bot_form
from buzz.portal.render import PREFIX, page, see_other
from buzz.portal.tenants import BuzzChatTenant, tenant_of
from buzz.portal.visit import FormVisit, Visit, VisitDep
from buzz.web.errors import validation_error
from buzz.web.routing import ClockDep

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

NOT_BUZZCHAT = (
    "Analytics, the giveaway and the bot's settings belong to a BuzzChat subscriber's portal; "
    "an integration's portal has none."
)
ACCOUNT_CHANGED = (
    "The active account changed since this page was loaded (it is now {name}): reload the page "
    "and try again."
)
TOP_TRIGGERS = 10
KINDS = {
    MessageKind.WELCOME.value: "Welcome",
    MessageKind.FAQ.value: "FAQ replies",
    MessageKind.TIMER.value: "Timers",
    MessageKind.API.value: "API",
}


@dataclass(frozen=True)
class Seller:
    """A BuzzChat session's subscriber and the account its pages act on."""

    tenant: BuzzChatTenant
    account: Account


def seller_of(session: Session, seen: Visit) -> Seller:
    """The subscriber of a BuzzChat session and its active account; 404 for a Buzz session."""
    tenant = tenant_of(session, seen.viewer)
    if not isinstance(tenant, BuzzChatTenant):
        raise NotFound(NOT_BUZZCHAT)
    account = accounts.resolve_account(session, subscriber_id=tenant.subscriber.id, account_id=None)
    return Seller(tenant, account)


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once per request; FormVisit has read it already


FormDep = Annotated[FormData, Depends(_form)]


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def seller_of_form(session: Session, seen: Visit, form: FormData) -> Seller:
    """`seller_of` for a form, which must have been rendered for the same active account."""
    seller = seller_of(session, seen)
    if _field(form, "account") != seller.account.id:
        raise Conflict(ACCOUNT_CHANGED.format(name=seller.account.name))
    return seller


def _refusal(exc: ValidationError) -> BadRequest:
    """A model's refusal of a form, worded and named as the API words and names it."""
    return validation_error(RequestValidationError(exc.errors()))


# ---- analytics ---------------------------------------------------------------------------------


@router.get("/analytics")
def analytics_page(
    seen: VisitDep, session: SessionDep, now: ClockDep, period: PeriodQuery = Period.WEEK
) -> Response:
    """`GET /api/v1/analytics` and its top FAQ triggers for a period: charts, and the same
    numbers in tables."""
    seller = seller_of(session, seen)
    account_id = seller.account.id
    summary = analytics.summary(session, account_id=account_id, period=period, now=now)
    days = analytics.daily_by_kind(session, account_id=account_id, period=period, now=now)
    triggers = analytics.faq_triggers(
        session, account_id=account_id, period=period, limit=TOP_TRIGGERS, now=now
    )
    chart = {
        "kinds": KINDS,
        "days": [d.day.isoformat() for d in days],
        "counts": {kind: [getattr(d, kind) for d in days] for kind in KINDS},
        "triggers": [{"keyword": t.keyword, "count": t.count} for t in triggers],
    }
    by_kind = [
        (kind, label, count, share)
        for (kind, label), count, share in zip(
            KINDS.items(),
            (
                summary.welcome_messages,
                summary.faq_replies,
                summary.timer_messages,
                summary.api_messages,
            ),
            (
                summary.breakdown.welcome,
                summary.breakdown.faq,
                summary.breakdown.timer,
                summary.breakdown.api,
            ),
            strict=True,
        )
    ]
    return page(
        "analytics.html",
        visit=seen,
        tenant=seller.tenant,
        account=seller.account,
        period=period.value,
        periods=[p.value for p in Period],
        summary=summary,
        by_kind=by_kind,
        kinds=KINDS,
        days=days,
        triggers=triggers,
        chart=chart,
        now=now,
    )


# ---- the giveaway ------------------------------------------------------------------------------


def _this_round(session: Session, seller: Seller) -> tuple[list[GiveawayEntry], BotSettings]:
    settings = bot_settings.settings_of(session, seller.account)
    return list(giveaway.entries(session, settings=settings)), settings


def _giveaway_page(
    session: Session,
    seen: Visit,
    seller: Seller,
    *,
    picked: bool = False,
    cleared: bool = False,
    count: str = "1",
    refused: BadRequest | None = None,
) -> Response:
    entries, settings = _this_round(session, seller)
    winners = sorted((e for e in entries if e.won_at is not None), key=lambda e: (e.won_at, e.id))
    last_draw = winners[-1].won_at if winners else None
    errors = {e.field: e.message for e in refused.errors} if refused else {}
    return page(
        "giveaway.html",
        400 if refused else 200,
        visit=seen,
        tenant=seller.tenant,
        account=seller.account,
        settings=bot_settings.read_settings(settings),
        entries=entries,
        winners=winners,
        drawn=[e.username for e in winners if e.won_at == last_draw] if picked else [],
        cleared=cleared,
        count=count,
        refused=refused,
        errors=errors,
        # Sent back as the draw's Idempotency-Key: a form sent twice draws once.
        draw=secrets.token_hex(16),
    )


@router.get("/giveaway")
def giveaway_page(
    seen: VisitDep,
    session: SessionDep,
    picked: Annotated[bool, Query()] = False,
    cleared: Annotated[bool, Query()] = False,
) -> Response:
    """This round's entries (kept current by giveaway.js), its winners, pick and clear."""
    seller = seller_of(session, seen)
    return _giveaway_page(session, seen, seller, picked=picked, cleared=cleared)


@router.get("/giveaway/entries")
def giveaway_entries(seen: VisitDep, session: SessionDep) -> Response:
    """The entries table's body alone, for giveaway.js to refresh the page's."""
    entries, _ = _this_round(session, seller_of(session, seen))
    return page("_giveaway_entries.html", entries=entries)


@router.post("/giveaway/pick")
def pick_winners(seen: FormVisit, form: FormDep, session: SessionDep, now: ClockDep) -> Response:
    """Draw winners as `POST /api/v1/giveaway/pick-winner` does (same bounds, same refusals)."""
    seller = seller_of_form(session, seen, form)
    typed = _field(form, "count")
    try:
        sent = {} if typed is None else {"count": bot_form.integer_of(typed)}
        body = PickWinner.model_validate(sent)
    except ValidationError as exc:
        return _giveaway_page(session, seen, seller, count=typed or "", refused=_refusal(exc))

    def draw() -> dict[str, Any]:
        settings = bot_settings.settings_of(session, seller.account)
        winners = giveaway.pick_winners(
            session, account=seller.account, settings=settings, count=body.count, now=now
        )
        result: dict[str, Any] = jsonable_encoder(
            Ok(data=Winners(winners=winners, timestamp=now)), by_alias=True
        )
        return result

    try:
        idempotency.idempotent(
            session,
            key=_field(form, "draw") or None,
            subscriber_id=seller.tenant.subscriber.id,
            account_id=seller.account.id,
            operation="portal/giveaway/pick",
            body={"count": body.count},
            now=now,
            act=draw,
        )
    except BadRequest as refused:
        session.rollback()
        return _giveaway_page(session, seen, seller, count=typed or "", refused=refused)
    return see_other("/giveaway?picked=true")


@router.post("/giveaway/clear")
def clear_entries(seen: FormVisit, form: FormDep, session: SessionDep) -> Response:
    """Remove every entry and start a new round, as `DELETE /api/v1/giveaway/entries` does."""
    seller = seller_of_form(session, seen, form)
    giveaway.clear(session, settings=bot_settings.settings_of(session, seller.account))
    session.commit()
    return see_other("/giveaway?cleared=true")


# ---- the bot's settings --------------------------------------------------------------------------


def _settings_page(
    seen: Visit,
    seller: Seller,
    current: SettingsOut,
    shown: bot_form.BotForm,
    *,
    saved: bool = False,
    problems: list[bot_form.Problem] | None = None,
) -> Response:
    placed: dict[str, list[str]] = {}
    for problem in problems or []:
        placed.setdefault(problem.control, []).append(problem.message)
    return page(
        "settings.html",
        400 if problems else 200,
        visit=seen,
        tenant=seller.tenant,
        account=seller.account,
        current=current,
        form=shown.with_new_rows(),
        saved=saved,
        problems=problems or [],
        errors={control: "; ".join(messages) for control, messages in placed.items()},
        max_rules=bot_settings.MAX_FAQ_RULES,
        max_timers=bot_settings.MAX_TIMERS,
    )


@router.get("/settings")
def settings_page(
    seen: VisitDep, session: SessionDep, saved: Annotated[bool, Query()] = False
) -> Response:
    """The bot's settings in one form (and its on/off button), as `GET /api/v1/settings`."""
    seller = seller_of(session, seen)
    current = bot_settings.read_settings(bot_settings.settings_of(session, seller.account))
    return _settings_page(seen, seller, current, bot_form.BotForm.of(current), saved=saved)


@router.post("/settings")
def save_settings(seen: FormVisit, form: FormDep, session: SessionDep, now: ClockDep) -> Response:
    """The fields the form sent, applied as `PATCH /api/v1/settings` applies them (starting or
    stopping the bot raises bot.started / bot.stopped); a refusal shows the form again."""
    seller = seller_of_form(session, seen, form)
    current = bot_settings.read_settings(bot_settings.settings_of(session, seller.account))
    sent = bot_form.read(form, bot_form.BotForm.of(current))
    errors: list[FieldError]
    try:
        patch = SettingsPatch.model_validate(sent.body)
        bot_settings.update_settings(session, account=seller.account, patch=patch, now=now)
    except ValidationError as exc:
        errors = _refusal(exc).errors
    except BadRequest as refused:
        errors = refused.errors or [FieldError("body", refused.message)]
    else:
        session.commit()
        return see_other("/settings?saved=true")
    session.rollback()  # nothing half-applied stays
    return _settings_page(
        seen, seller, current, sent.form, problems=bot_form.problems(errors, sent)
    )
