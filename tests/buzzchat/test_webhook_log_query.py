"""A BuzzChat webhook's delivery log, filtered and paged with a cursor, and recover (SPEC §3.10).

Events are raised a minute apart by the injected clock, named by the test, and made to fail by
the local HTTPS receiver answering 500 through every retry; nothing waits for real time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from buzz.clock import ManualClock
from buzz.delivery.models import Delivery, DeliveryStatus
from buzz.testing import SeededSubscriber, deliver_due
from tests.buzzchat.helpers import API, enter, error, make_hook, ok
from tests.support.delivery_log import (
    BAD_QUERIES,
    BAD_RECOVER_BODIES,
    OUT_OF_RANGE_BODIES,
    OUT_OF_RANGE_QUERIES,
    UNORDERED_WINDOWS,
    case_id,
    later,
)
from tests.support.https_receiver import HttpsReceiver

OUR_EVENTS = ["giveaway.entry", "bot.started", "bot.stopped"]


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """Every app of this module delivers to the local receiver."""
    return live_app


def details(response: httpx.Response) -> list[str]:
    """The fields a 400 VALIDATION_ERROR names."""
    error(response, 400, "VALIDATION_ERROR")
    found: list[dict[str, str]] = response.json()["error"]["details"]
    assert all(set(d) == {"field", "message"} and d["message"] for d in found), found
    return [d["field"] for d in found]


class Timeline:
    """The shop's two webhooks, ours (entries and the bot's start and stop) and theirs (entries
    only): each event is raised a minute after the one before, under the name the test gives it."""

    def __init__(
        self,
        app: FastAPI,
        client: TestClient,
        shop: SeededSubscriber,
        receiver: HttpsReceiver,
        clock: ManualClock,
    ) -> None:
        self.app = app
        self.client = client
        self.shop = shop
        self.receiver = receiver
        self.clock = clock
        self.ours: str = make_hook(client, shop, receiver, events=OUR_EVENTS, path="/ours")["id"]
        self.theirs: str = make_hook(client, shop, receiver, path="/theirs")["id"]
        self.names: dict[str, str] = {}  # delivery id -> name ("theirs:<name>" for theirs)
        self.ids: dict[str, str] = {}  # name -> delivery id
        self.created: dict[str, str] = {}  # name -> createdAt, as listed

    # -- raising events ------------------------------------------------------------------------

    def enter(self, *names: str) -> None:
        """A giveaway entry per name (the name is the username): to ours and to theirs."""
        for name in names:
            self.clock.advance(minutes=1)
            enter(self.client, self.shop, name)
            self._note(self.ours, name)
            self._note(self.theirs, f"theirs:{name}")

    def bot(self, name: str, *, active: bool) -> None:
        """Start or stop the bot: bot.started or bot.stopped, to ours only."""
        self.clock.advance(minutes=1)
        ok(
            self.client.patch(
                f"{API}/settings", json={"botActive": active}, headers=self.shop.headers
            )
        )
        self._note(self.ours, name)

    def _note(self, hook_id: str, name: str) -> None:
        newest = self.page(hook_id)["deliveries"][0]
        assert newest["id"] not in self.names
        self.names[newest["id"]] = name
        self.ids[name] = newest["id"]
        self.created[name] = newest["createdAt"]

    def fail_all(self) -> None:
        """The receiver answers 500 to every attempt until no delivery is pending."""
        self.receiver.respond_with(500)
        self.settle()

    def deliver_all(self) -> None:
        """The receiver answers 200 to one pass over every due delivery."""
        self.receiver.respond_with(200)
        deliver_due(self.app)

    def settle(self) -> None:
        """Attempt every due delivery, then move the clock to when the last pending one is due,
        until none is pending (each pass makes one attempt of each)."""
        database = self.app.state.database
        for _ in range(100):
            deliver_due(self.app)
            with database.session() as session:
                due = session.scalar(
                    select(func.max(Delivery.next_attempt_at)).where(
                        Delivery.status == DeliveryStatus.PENDING.value
                    )
                )
            if due is None:
                return
            self.clock.advance(seconds=max(0.0, (due - self.clock()).total_seconds()))
        raise AssertionError("deliveries still pending after 100 passes")

    # -- reading the log -----------------------------------------------------------------------

    def get(self, hook_id: str | None = None, /, **params: Any) -> httpx.Response:
        return self.client.get(
            f"{API}/webhooks/{hook_id or self.ours}/deliveries",
            params=params,
            headers=self.shop.headers,
        )

    def page(self, hook_id: str | None = None, /, **params: Any) -> dict[str, Any]:
        shown: dict[str, Any] = ok(self.get(hook_id, **params))
        assert set(shown) == {"deliveries", "next"}
        return shown

    def listed(self, hook_id: str | None = None, /, **params: Any) -> list[str]:
        """The names of the deliveries on the one page the query fills, in the order listed."""
        shown = self.page(hook_id, **params)
        assert shown["next"] is None
        return [self.names[d["id"]] for d in shown["deliveries"]]

    def walk(self, hook_id: str | None = None, /, **params: Any) -> list[list[str]]:
        """Every page of the query, following `next`: the names on each."""
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            shown = self.page(hook_id, **params, **({"cursor": cursor} if cursor else {}))
            pages.append([self.names[d["id"]] for d in shown["deliveries"]])
            cursor = shown["next"]
            if cursor is None:
                return pages
            assert isinstance(cursor, str) and cursor
            assert len(pages) < 50, pages

    def records(self, hook_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Every delivery of the webhook by name."""
        return {self.names[d["id"]]: d for d in self.page(hook_id, limit=500)["deliveries"]}

    def statuses(self, hook_id: str | None = None) -> dict[str, str]:
        return {name: d["status"] for name, d in self.records(hook_id).items()}

    def detail(self, name: str) -> dict[str, Any]:
        shown: dict[str, Any] = ok(
            self.client.get(
                f"{API}/webhooks/{self.ours}/deliveries/{self.ids[name]}",
                headers=self.shop.headers,
            )
        )
        return shown

    # -- recover -------------------------------------------------------------------------------

    def recover(
        self, body: Any, hook_id: str | None = None, shop: SeededSubscriber | None = None
    ) -> httpx.Response:
        return self.client.post(
            f"{API}/webhooks/{hook_id or self.ours}/recover",
            json=body,
            headers=(shop or self.shop).headers,
        )

    def queued(self, hook_id: str | None = None, **window: str) -> int:
        """Recover the window (names of deliveries, their createdAt); how many were queued."""
        answer = ok(self.recover({k: self.created[v] for k, v in window.items()}, hook_id), 202)
        assert set(answer) == {"queued"}
        count: int = answer["queued"]
        return count


@pytest.fixture
def timeline(
    app: FastAPI,
    live_client: TestClient,
    shop: SeededSubscriber,
    receiver: HttpsReceiver,
    clock: ManualClock,
) -> Timeline:
    return Timeline(app, live_client, shop, receiver, clock)


@pytest.fixture
def mixed(timeline: Timeline) -> Timeline:
    """Ours, newest first: started2, cat pending; stopped, ben delivered; started1, amy failed.
    amy, ben and cat are giveaway entries (theirs get them too), the others the bot's."""
    timeline.enter("amy")
    timeline.bot("started1", active=True)
    timeline.fail_all()
    timeline.enter("ben")
    timeline.bot("stopped", active=False)
    timeline.deliver_all()
    timeline.enter("cat")
    timeline.bot("started2", active=True)
    assert timeline.statuses() == {
        "amy": "failed",
        "started1": "failed",
        "ben": "delivered",
        "stopped": "delivered",
        "cat": "pending",
        "started2": "pending",
    }
    return timeline


@pytest.fixture
def failed(timeline: Timeline) -> Timeline:
    """Ours (and theirs), oldest first: the entries early, in1, in2, late failed; then ok
    delivered and waiting pending."""
    timeline.enter("early", "in1", "in2", "late")
    timeline.fail_all()
    timeline.enter("ok")
    timeline.deliver_all()
    timeline.enter("waiting")
    return timeline


FAILED = ["late", "in2", "in1", "early"]


# ---- filters ------------------------------------------------------------------------------------

ALL = ["started2", "cat", "stopped", "ben", "started1", "amy"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"status": "pending"}, ["started2", "cat"]),
        ({"status": "delivered"}, ["stopped", "ben"]),
        ({"status": "failed"}, ["started1", "amy"]),
        ({"eventType": "giveaway.entry"}, ["cat", "ben", "amy"]),
        ({"eventType": "bot.started"}, ["started2", "started1"]),
        ({"eventType": "bot.stopped"}, ["stopped"]),
        ({"eventType": "message.sent"}, []),
        ({"since": "ben"}, ["started2", "cat", "stopped", "ben"]),
        ({"until": "ben"}, ["started1", "amy"]),
        ({"since": "started1", "until": "cat"}, ["stopped", "ben", "started1"]),
        ({"status": "failed", "eventType": "bot.started"}, ["started1"]),
        ({"status": "delivered", "since": "stopped"}, ["stopped"]),
        ({"status": "pending", "until": "started2"}, ["cat"]),
        ({"eventType": "bot.started", "since": "started1", "until": "started2"}, ["started1"]),
        (
            {
                "status": "pending",
                "eventType": "giveaway.entry",
                "since": "ben",
                "until": "started2",
            },
            ["cat"],
        ),
        ({"status": "delivered", "eventType": "bot.started"}, []),
    ],
    ids=lambda value: (
        "&".join(f"{k}={v}" for k, v in value.items()) or "none" if isinstance(value, dict) else ""
    ),
)
def test_filters_list_exactly_the_matching_deliveries_newest_first(
    mixed: Timeline, params: dict[str, str], expected: list[str]
) -> None:
    query = {k: mixed.created[v] if k in ("since", "until") else v for k, v in params.items()}
    assert mixed.listed(**query) == expected


def test_since_is_inclusive_and_until_exclusive_to_the_microsecond(mixed: Timeline) -> None:
    ben = mixed.created["ben"]

    assert mixed.listed(status="delivered", since=ben) == ["stopped", "ben"]
    assert mixed.listed(status="delivered", since=later(ben, microseconds=1)) == ["stopped"]
    assert mixed.listed(status="delivered", until=ben) == []
    assert mixed.listed(status="delivered", until=later(ben, microseconds=1)) == ["ben"]


def test_since_and_until_compare_instants_whatever_the_offset(mixed: Timeline) -> None:
    ben = datetime.fromisoformat(mixed.created["ben"])
    at_minus_five = ben.astimezone(datetime.fromisoformat("2026-01-01T00:00:00-05:00").tzinfo)
    assert at_minus_five.isoformat().endswith("-05:00")

    assert mixed.listed(status="delivered", since=at_minus_five.isoformat()) == ["stopped", "ben"]
    assert mixed.listed(status="delivered", until=at_minus_five.isoformat()) == []


def test_the_filters_see_only_this_webhooks_deliveries(mixed: Timeline) -> None:
    assert mixed.listed(mixed.theirs, status="failed") == ["theirs:amy"]
    assert mixed.listed(mixed.theirs, eventType="bot.started") == []
    assert mixed.listed(mixed.theirs, since=mixed.created["ben"]) == ["theirs:cat", "theirs:ben"]


def test_the_filters_work_at_the_v1_alias_too(mixed: Timeline) -> None:
    shown = ok(
        mixed.client.get(
            f"/v1/webhooks/{mixed.ours}/deliveries",
            params={"status": "failed", "eventType": "giveaway.entry"},
            headers=mixed.shop.headers,
        )
    )
    assert [mixed.names[d["id"]] for d in shown["deliveries"]] == ["amy"]


# ---- the cursor ---------------------------------------------------------------------------------


def test_the_cursor_walks_every_delivery_once_newest_first(timeline: Timeline) -> None:
    timeline.enter("m1", "m2", "m3", "m4", "m5")

    pages = timeline.walk(limit=2)

    assert pages == [["m5", "m4"], ["m3", "m2"], ["m1"]]
    assert [d["id"] for d in timeline.page(limit=500)["deliveries"]] == [
        timeline.ids[name] for page in pages for name in page
    ]


def test_a_last_full_page_has_no_next(timeline: Timeline) -> None:
    timeline.enter("m1", "m2", "m3", "m4")

    first = timeline.page(limit=2)
    last = timeline.page(limit=2, cursor=first["next"])

    assert [timeline.names[d["id"]] for d in last["deliveries"]] == ["m2", "m1"]
    assert last["next"] is None
    assert timeline.walk(limit=4) == [["m4", "m3", "m2", "m1"]]


def test_the_cursor_pages_through_the_same_filters(mixed: Timeline) -> None:
    assert mixed.walk(status="failed", limit=1) == [["started1"], ["amy"]]
    assert mixed.walk(eventType="giveaway.entry", limit=2) == [["cat", "ben"], ["amy"]]
    assert mixed.walk(
        since=mixed.created["started1"], until=mixed.created["started2"], limit=2
    ) == [
        ["cat", "stopped"],
        ["ben", "started1"],
    ]


def test_events_raised_between_pages_are_not_shown_twice(timeline: Timeline) -> None:
    timeline.enter("m1", "m2", "m3", "m4")
    first = timeline.page(limit=2)
    timeline.enter("m5", "m6")

    rest = timeline.page(limit=2, cursor=first["next"])

    assert [timeline.names[d["id"]] for d in first["deliveries"]] == ["m4", "m3"]
    assert [timeline.names[d["id"]] for d in rest["deliveries"]] == ["m2", "m1"]
    assert rest["next"] is None


def test_a_cursor_with_an_offset_is_refused_naming_offset(timeline: Timeline) -> None:
    """Two starting points (as Stripe's starting_after with ending_before): which was meant is
    unknown, so neither is guessed."""
    timeline.enter("m1", "m2", "m3", "m4", "m5")
    first = timeline.page(limit=2)

    assert details(timeline.get(limit=2, offset=2, cursor=first["next"])) == ["offset"]
    assert timeline.page(limit=2, offset=0, cursor=first["next"])["next"] is not None


# ---- bad queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), BAD_QUERIES, ids=case_id)
def test_a_bad_query_is_400_naming_the_field(
    timeline: Timeline, params: dict[str, str], field: str
) -> None:
    timeline.enter("m1")
    assert field in details(timeline.get(**params))


@pytest.mark.parametrize(("params", "field"), OUT_OF_RANGE_QUERIES, ids=["since", "until"])
def test_a_moment_out_of_range_is_400_naming_the_field(
    timeline: Timeline, params: dict[str, str], field: str
) -> None:
    timeline.enter("m1")
    assert field in details(timeline.get(**params))


@pytest.mark.parametrize(("body", "field"), OUT_OF_RANGE_BODIES, ids=["since", "until"])
def test_recover_of_a_moment_out_of_range_is_400_naming_the_field(
    timeline: Timeline, body: dict[str, str], field: str
) -> None:
    assert field in details(timeline.recover(body))


# ---- recover ------------------------------------------------------------------------------------


def test_recover_queues_only_our_failed_deliveries_in_the_window(
    failed: Timeline, clock: ManualClock
) -> None:
    assert failed.queued(since="in1", until="late") == 2

    assert failed.statuses() == {
        "early": "failed",
        "in1": "pending",
        "in2": "pending",
        "late": "failed",  # until is exclusive
        "ok": "delivered",
        "waiting": "pending",
    }
    records = failed.records()
    for name in ("in1", "in2"):
        assert datetime.fromisoformat(records[name]["nextAttemptAt"]) == clock()
        assert records[name]["attempts"] == 8
    assert failed.listed(failed.theirs, status="failed") == [f"theirs:{n}" for n in FAILED]


def test_recover_without_until_reaches_to_now(failed: Timeline) -> None:
    assert failed.queued(since="in1") == 3

    assert failed.listed(status="failed") == ["early"]
    assert failed.listed(status="pending") == ["waiting", "late", "in2", "in1"]
    assert failed.listed(status="delivered") == ["ok"]


def test_recover_from_just_after_a_delivery_leaves_it_failed(failed: Timeline) -> None:
    response = failed.recover({"since": later(failed.created["in1"], microseconds=1)})

    assert ok(response, 202) == {"queued": 2}  # in2 and late
    assert failed.listed(status="failed") == ["in1", "early"]


def test_recover_counts_only_what_it_queued(failed: Timeline) -> None:
    assert failed.queued(since="ok") == 0
    assert failed.queued(since="early", until="in1") == 1
    assert failed.queued(since="early", until="in1") == 0


def test_a_second_recover_queues_nothing_until_they_fail_again(failed: Timeline) -> None:
    assert failed.queued(since="in1", until="late") == 2
    assert failed.queued(since="in1", until="late") == 0

    failed.fail_all()  # in1, in2 and waiting fail (again)

    assert failed.listed(status="pending") == []
    assert failed.queued(since="in1", until="late") == 2


def test_recovered_deliveries_are_delivered_and_keep_their_attempts(
    failed: Timeline, receiver: HttpsReceiver
) -> None:
    event_ids_sent = [r.headers["webhook-id"] for r in receiver.requests if r.path == "/ours"]
    assert failed.queued(since="in1", until="late") == 2
    sent_before = len(receiver.requests)

    failed.deliver_all()

    records = failed.records()
    for name in ("in1", "in2"):
        assert (records[name]["status"], records[name]["attempts"]) == ("delivered", 9)
        assert (records[name]["lastResponseCode"], records[name]["nextAttemptAt"]) == (200, None)
        shown = failed.detail(name)
        assert [a["responseCode"] for a in shown["attemptLog"]] == [500] * 8 + [200]
        assert event_ids_sent.count(shown["eventId"]) == 8  # the same event, its id kept
    resent = receiver.requests[sent_before:]
    assert sorted((r.path, r.headers["webhook-id"]) for r in resent) == sorted(
        [("/ours", records[name]["eventId"]) for name in ("in1", "in2", "waiting")]
        + [("/theirs", failed.records(failed.theirs)["theirs:waiting"]["eventId"])]
    )
    assert (records["early"]["status"], records["late"]["status"]) == ("failed", "failed")


def test_recover_of_their_webhook_leaves_ours_alone(failed: Timeline) -> None:
    assert failed.queued(failed.theirs, since="theirs:early") == 4

    assert failed.listed(status="failed") == FAILED
    assert failed.listed(failed.theirs, status="failed") == []


def test_recover_works_at_the_v1_alias_too(failed: Timeline) -> None:
    response = failed.client.post(
        f"/v1/webhooks/{failed.ours}/recover",
        json={"since": failed.created["late"]},
        headers=failed.shop.headers,
    )
    assert ok(response, 202) == {"queued": 1}
    assert failed.listed(status="failed") == ["in2", "in1", "early"]


@pytest.mark.parametrize("body", UNORDERED_WINDOWS, ids=["until=since", "until<since"])
def test_recover_with_until_not_after_since_is_400_and_queues_nothing(
    failed: Timeline, body: dict[str, str]
) -> None:
    assert details(failed.recover(body))

    assert failed.listed(status="failed") == FAILED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        *BAD_RECOVER_BODIES,
        ({"since": "2026-03-02T09:30:00Z", "force": True}, "force"),
        ({"since": "2026-03-02T09:30:00Z", "Until": "2026-03-09T00:00:00Z"}, "Until"),
    ],
    ids=case_id,
)
def test_a_bad_recover_body_is_400_naming_the_field_and_queues_nothing(
    failed: Timeline, body: Any, field: str
) -> None:
    assert field in details(failed.recover(body))

    assert failed.listed(status="failed") == FAILED


def test_recover_refuses_a_null_until(failed: Timeline) -> None:
    """BuzzChat bodies refuse explicit nulls (Buzz reads them as absent)."""
    response = failed.recover({"since": failed.created["early"], "until": None})

    assert details(response) == ["until"]
    assert failed.listed(status="failed") == FAILED


# ---- who may ------------------------------------------------------------------------------------


def test_another_subscriber_gets_404_on_our_log_and_recover(
    failed: Timeline, other_shop: SeededSubscriber
) -> None:
    since = {"since": failed.created["early"]}
    log = f"{API}/webhooks/{failed.ours}/deliveries"

    error(
        failed.client.get(log, params={"status": "failed"}, headers=other_shop.headers),
        404,
        "NOT_FOUND",
    )
    error(failed.recover(since, shop=other_shop), 404, "NOT_FOUND")

    assert failed.listed(status="failed") == FAILED


def test_another_subscribers_recover_of_their_own_webhook_leaves_ours_alone(
    failed: Timeline, other_shop: SeededSubscriber
) -> None:
    rival = make_hook(failed.client, other_shop, failed.receiver, path="/rival")
    enter(failed.client, other_shop, "rex")
    failed.fail_all()  # rex's fails, and so do our waiting ones
    since = {"since": failed.created["early"]}

    assert ok(failed.recover(since, hook_id=rival["id"], shop=other_shop), 202) == {"queued": 1}

    assert failed.listed(status="failed") == ["waiting", *FAILED]
    assert failed.listed(failed.theirs, status="failed") == [
        f"theirs:{n}" for n in ["waiting", *FAILED]
    ]


def test_recover_needs_a_key(failed: Timeline) -> None:
    response = failed.client.post(
        f"{API}/webhooks/{failed.ours}/recover", json={"since": failed.created["early"]}
    )
    error(response, 401, "INVALID_API_KEY")
    assert failed.listed(status="failed") == FAILED
