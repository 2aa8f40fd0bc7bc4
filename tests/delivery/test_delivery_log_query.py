"""A Buzz subscription's delivery log, filtered and paged with a cursor, and recover (SPEC §3.10).

Deliveries are made a minute apart by the injected clock, named by the test, made to fail by a
fake receiver answering 500 through every retry, and never waited for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from buzz.clock import ManualClock
from buzz.delivery.models import Delivery, DeliveryStatus
from buzz.testing import SeededUser
from tests.delivery.conftest import Chat, Deliver, FakeReceiver, OutboxTables, Subscribed
from tests.integrations.helpers import assert_bad_request, assert_error, make_integration
from tests.support.delivery_log import (
    BAD_QUERIES,
    BAD_RECOVER_BODIES,
    OUT_OF_RANGE_BODIES,
    OUT_OF_RANGE_QUERIES,
    UNORDERED_WINDOWS,
    case_id,
    later,
)

OURS = "https://hooks.example.com/buzz/ours"
THEIRS = "https://hooks.example.com/buzz/theirs"
OTHER_TYPE = "test.event"  # what OutboxTables.enqueue writes: a subscription has one type


def recover_path(hook: Subscribed) -> str:
    return hook.deliveries_path.removesuffix("/deliveries") + "/recover"


class Timeline:
    """Alice's two subscriptions, ours and theirs, on one channel: each post is one delivery to
    each, a minute after the one before, under the name the test gives it."""

    def __init__(
        self,
        chat: Chat,
        receiver: FakeReceiver,
        deliver: Deliver,
        clock: ManualClock,
        outbox_tables: OutboxTables,
    ) -> None:
        self.chat = chat
        self.receiver = receiver
        self.poster = receiver.poster()
        self.deliver = deliver
        self.clock = clock
        self.outbox_tables = outbox_tables
        self.ours = chat.subscribe(OURS)
        self.theirs = chat.subscribe(THEIRS)
        self.names: dict[str, str] = {}  # delivery id -> name ("theirs:<name>" for theirs)
        self.ids: dict[str, str] = {}  # name -> delivery id
        self.created: dict[str, str] = {}  # name -> createdAt, as listed

    # -- making deliveries ---------------------------------------------------------------------

    def post(self, *names: str) -> None:
        """One post per name: a delivery to ours named `name`, one to theirs `theirs:name`."""
        for name in names:
            self.clock.advance(minutes=1)
            self.chat.post(name)
            self._note(self.ours, name)
            self._note(self.theirs, f"theirs:{name}")

    def enqueue_other_type(self, name: str) -> None:
        """A delivery of another event type to ours only, written by the engine's outbox."""
        self.clock.advance(minutes=1)
        self.outbox_tables.enqueue(self.ours.target_id)
        self._note(self.ours, name)

    def _note(self, hook: Subscribed, name: str) -> None:
        newest = self.page(hook)["deliveries"][0]
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
        self.deliver(poster=self.poster)

    def settle(self) -> None:
        """Attempt every due delivery, then move the clock to when the last pending one is due,
        until none is pending (each pass makes one attempt of each)."""
        for _ in range(100):
            self.deliver(poster=self.poster)
            with self.chat.database.session() as session:
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

    def get(self, hook: Subscribed | None = None, /, **params: Any) -> httpx.Response:
        hook = hook or self.ours
        return self.chat.client.get(hook.deliveries_path, params=params, headers=self.chat.headers)

    def page(self, hook: Subscribed | None = None, /, **params: Any) -> dict[str, Any]:
        response = self.get(hook, **params)
        assert response.status_code == 200, response.text
        shown: dict[str, Any] = response.json()
        assert set(shown) == {"deliveries", "next"}
        return shown

    def listed(self, hook: Subscribed | None = None, /, **params: Any) -> list[str]:
        """The names of the deliveries on the one page the query fills, in the order listed."""
        shown = self.page(hook, **params)
        assert shown["next"] is None
        return [self.names[d["id"]] for d in shown["deliveries"]]

    def walk(self, hook: Subscribed | None = None, /, **params: Any) -> list[list[str]]:
        """Every page of the query, following `next`: the names on each."""
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            shown = self.page(hook, **params, **({"cursor": cursor} if cursor else {}))
            pages.append([self.names[d["id"]] for d in shown["deliveries"]])
            cursor = shown["next"]
            if cursor is None:
                return pages
            assert isinstance(cursor, str) and cursor
            assert len(pages) < 50, pages

    def records(self, hook: Subscribed | None = None) -> dict[str, dict[str, Any]]:
        """Every delivery of the hook by name."""
        return {self.names[d["id"]]: d for d in self.page(hook, limit=500)["deliveries"]}

    def statuses(self, hook: Subscribed | None = None) -> dict[str, str]:
        return {name: d["status"] for name, d in self.records(hook).items()}

    def detail(self, name: str, hook: Subscribed | None = None) -> dict[str, Any]:
        hook = hook or self.ours
        response = self.chat.client.get(
            f"{hook.deliveries_path}/{self.ids[name]}", headers=self.chat.headers
        )
        assert response.status_code == 200, response.text
        shown: dict[str, Any] = response.json()
        return shown

    # -- recover -------------------------------------------------------------------------------

    def recover(self, body: Any, hook: Subscribed | None = None) -> httpx.Response:
        hook = hook or self.ours
        return self.chat.client.post(recover_path(hook), json=body, headers=self.chat.headers)

    def queued(self, hook: Subscribed | None = None, **window: str | None) -> int:
        """Recover the window (names of deliveries, their createdAt); how many were queued."""
        body = {k: None if v is None else self.created[v] for k, v in window.items()}
        response = self.recover(body, hook)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert set(answer) == {"queued"}
        count: int = answer["queued"]
        return count


@pytest.fixture
def timeline(
    chat: Chat,
    fake_receiver: FakeReceiver,
    deliver: Deliver,
    clock: ManualClock,
    outbox_tables: OutboxTables,
) -> Timeline:
    return Timeline(chat, fake_receiver, deliver, clock, outbox_tables)


@pytest.fixture
def mixed(timeline: Timeline) -> Timeline:
    """Ours, newest first: px, p1 pending; dx, d1 delivered; f2, f1 failed. The x ones are of
    another event type than MESSAGE_POSTED."""
    timeline.post("f1", "f2")
    timeline.fail_all()
    timeline.post("d1")
    timeline.enqueue_other_type("dx")
    timeline.deliver_all()
    timeline.post("p1")
    timeline.enqueue_other_type("px")
    assert timeline.statuses() == {
        "f1": "failed",
        "f2": "failed",
        "d1": "delivered",
        "dx": "delivered",
        "p1": "pending",
        "px": "pending",
    }
    return timeline


@pytest.fixture
def failed(timeline: Timeline) -> Timeline:
    """Ours (and theirs), oldest first: early, in1, in2, late failed; then ok delivered and
    waiting pending."""
    timeline.post("early", "in1", "in2", "late")
    timeline.fail_all()
    timeline.post("ok")
    timeline.deliver_all()
    timeline.post("waiting")
    return timeline


# ---- filters ------------------------------------------------------------------------------------

ALL = ["px", "p1", "dx", "d1", "f2", "f1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"status": "pending"}, ["px", "p1"]),
        ({"status": "delivered"}, ["dx", "d1"]),
        ({"status": "failed"}, ["f2", "f1"]),
        ({"eventType": "MESSAGE_POSTED"}, ["p1", "d1", "f2", "f1"]),
        ({"eventType": OTHER_TYPE}, ["px", "dx"]),
        ({"eventType": "SLASH_COMMAND"}, []),
        ({"since": "d1"}, ["px", "p1", "dx", "d1"]),
        ({"until": "d1"}, ["f2", "f1"]),
        ({"since": "f2", "until": "p1"}, ["dx", "d1", "f2"]),
        ({"status": "delivered", "eventType": "MESSAGE_POSTED"}, ["d1"]),
        ({"status": "failed", "since": "f2"}, ["f2"]),
        ({"status": "pending", "until": "px"}, ["p1"]),
        ({"eventType": OTHER_TYPE, "since": "dx", "until": "px"}, ["dx"]),
        (
            {"status": "pending", "eventType": "MESSAGE_POSTED", "since": "d1", "until": "px"},
            ["p1"],
        ),
        ({"status": "failed", "eventType": OTHER_TYPE}, []),
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
    d1 = mixed.created["d1"]

    assert mixed.listed(status="delivered", since=d1) == ["dx", "d1"]
    assert mixed.listed(status="delivered", since=later(d1, microseconds=1)) == ["dx"]
    assert mixed.listed(status="delivered", until=d1) == []
    assert mixed.listed(status="delivered", until=later(d1, microseconds=1)) == ["d1"]


def test_since_and_until_compare_instants_whatever_the_offset(mixed: Timeline) -> None:
    d1 = datetime.fromisoformat(mixed.created["d1"])
    at_plus_two = d1.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+02:00").tzinfo)
    assert at_plus_two.isoformat().endswith("+02:00")

    assert mixed.listed(status="delivered", since=at_plus_two.isoformat()) == ["dx", "d1"]
    assert mixed.listed(status="delivered", until=at_plus_two.isoformat()) == []


def test_the_filters_see_only_this_subscriptions_deliveries(mixed: Timeline) -> None:
    assert mixed.listed(mixed.theirs, status="failed") == ["theirs:f2", "theirs:f1"]
    assert mixed.listed(mixed.theirs, eventType=OTHER_TYPE) == []
    assert mixed.listed(mixed.theirs, since=mixed.created["d1"]) == ["theirs:p1", "theirs:d1"]


# ---- the cursor ---------------------------------------------------------------------------------


def test_the_cursor_walks_every_delivery_once_newest_first(timeline: Timeline) -> None:
    timeline.post("m1", "m2", "m3", "m4", "m5")

    pages = timeline.walk(limit=2)

    assert pages == [["m5", "m4"], ["m3", "m2"], ["m1"]]
    assert [d["id"] for d in timeline.page(limit=500)["deliveries"]] == [
        timeline.ids[name] for page in pages for name in page
    ]


def test_a_last_full_page_has_no_next(timeline: Timeline) -> None:
    timeline.post("m1", "m2", "m3", "m4")

    first = timeline.page(limit=2)
    last = timeline.page(limit=2, cursor=first["next"])

    assert [timeline.names[d["id"]] for d in last["deliveries"]] == ["m2", "m1"]
    assert last["next"] is None
    assert timeline.walk(limit=4) == [["m4", "m3", "m2", "m1"]]


def test_the_cursor_pages_through_the_same_filters(mixed: Timeline) -> None:
    assert mixed.walk(status="failed", limit=1) == [["f2"], ["f1"]]
    assert mixed.walk(eventType="MESSAGE_POSTED", limit=3) == [["p1", "d1", "f2"], ["f1"]]
    assert mixed.walk(since=mixed.created["f2"], until=mixed.created["px"], limit=2) == [
        ["p1", "dx"],
        ["d1", "f2"],
    ]


def test_deliveries_made_between_pages_are_not_shown_twice(timeline: Timeline) -> None:
    timeline.post("m1", "m2", "m3", "m4")
    first = timeline.page(limit=2)
    timeline.post("m5", "m6")

    rest = timeline.page(limit=2, cursor=first["next"])

    assert [timeline.names[d["id"]] for d in first["deliveries"]] == ["m4", "m3"]
    assert [timeline.names[d["id"]] for d in rest["deliveries"]] == ["m2", "m1"]
    assert rest["next"] is None


def test_a_cursor_with_an_offset_is_refused_naming_offset(timeline: Timeline) -> None:
    """Two starting points (as Stripe's starting_after with ending_before): which was meant is
    unknown, so neither is guessed."""
    timeline.post("m1", "m2", "m3", "m4", "m5")
    first = timeline.page(limit=2)

    assert_bad_request(timeline.get(limit=2, offset=2, cursor=first["next"]), "offset")
    assert timeline.page(limit=2, offset=0, cursor=first["next"])["next"] is not None


# ---- bad queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), BAD_QUERIES, ids=case_id)
def test_a_bad_query_is_400_naming_the_field(
    timeline: Timeline, params: dict[str, str], field: str
) -> None:
    timeline.post("m1")
    assert_bad_request(timeline.get(**params), field)


@pytest.mark.parametrize(("params", "field"), OUT_OF_RANGE_QUERIES, ids=["since", "until"])
def test_a_moment_out_of_range_is_400_naming_the_field(
    timeline: Timeline, params: dict[str, str], field: str
) -> None:
    timeline.post("m1")
    assert_bad_request(timeline.get(**params), field)


@pytest.mark.parametrize(("body", "field"), OUT_OF_RANGE_BODIES, ids=["since", "until"])
def test_recover_of_a_moment_out_of_range_is_400_naming_the_field(
    timeline: Timeline, body: dict[str, str], field: str
) -> None:
    assert_bad_request(timeline.recover(body), field)


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
    assert failed.listed(failed.theirs, status="failed") == [
        f"theirs:{name}" for name in ("late", "in2", "in1", "early")
    ]


def test_recover_without_until_reaches_to_now(failed: Timeline) -> None:
    assert failed.queued(since="in1") == 3

    assert failed.listed(status="failed") == ["early"]
    assert failed.listed(status="pending") == ["waiting", "late", "in2", "in1"]
    assert failed.listed(status="delivered") == ["ok"]


def test_recover_with_a_null_until_is_as_without(failed: Timeline) -> None:
    assert failed.queued(since="in2", until=None) == 2

    assert failed.listed(status="failed") == ["in1", "early"]


def test_recover_from_just_after_a_delivery_leaves_it_failed(failed: Timeline) -> None:
    response = failed.recover({"since": later(failed.created["in1"], microseconds=1)})

    assert response.status_code == 202, response.text
    assert response.json() == {"queued": 2}  # in2 and late
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
    failed: Timeline, fake_receiver: FakeReceiver
) -> None:
    sent_before = [r.headers["webhook-id"] for r in fake_receiver.requests_to(OURS)]
    assert failed.queued(since="in1", until="late") == 2
    fake_receiver.requests.clear()

    failed.deliver_all()

    records = failed.records()
    for name in ("in1", "in2"):
        assert (records[name]["status"], records[name]["attempts"]) == ("delivered", 9)
        assert (records[name]["lastResponseCode"], records[name]["nextAttemptAt"]) == (200, None)
        shown = failed.detail(name)
        assert [a["responseCode"] for a in shown["attemptLog"]] == [500] * 8 + [200]
        assert sent_before.count(shown["eventId"]) == 8  # the same event, its id kept
    resent = sorted(r.headers["webhook-id"] for r in fake_receiver.requests_to(OURS))
    expected = [records[name]["eventId"] for name in ("in1", "in2", "waiting")]
    assert resent == sorted(expected)
    assert len(fake_receiver.requests_to(THEIRS)) == 1  # theirs:waiting only
    assert (records["early"]["status"], records["late"]["status"]) == ("failed", "failed")


def test_recover_of_their_subscription_leaves_ours_alone(failed: Timeline) -> None:
    assert failed.queued(failed.theirs, since="theirs:early") == 4

    assert failed.listed(status="failed") == ["late", "in2", "in1", "early"]
    assert failed.listed(failed.theirs, status="failed") == []


@pytest.mark.parametrize("body", UNORDERED_WINDOWS, ids=["until=since", "until<since"])
def test_recover_with_until_not_after_since_is_400_and_queues_nothing(
    failed: Timeline, body: dict[str, str]
) -> None:
    assert_error(failed.recover(body), 400)

    assert failed.listed(status="failed") == ["late", "in2", "in1", "early"]


@pytest.mark.parametrize(("body", "field"), BAD_RECOVER_BODIES, ids=case_id)
def test_a_bad_recover_body_is_400_naming_the_field_and_queues_nothing(
    failed: Timeline, body: Any, field: str
) -> None:
    assert_bad_request(failed.recover(body), field)

    assert failed.listed(status="failed") == ["late", "in2", "in1", "early"]


# ---- who may ------------------------------------------------------------------------------------


def test_another_user_gets_403_on_a_visible_subscriptions_log_and_recover(
    failed: Timeline, bob: SeededUser
) -> None:
    since = {"since": failed.created["early"]}
    client = failed.chat.client

    assert_error(client.get(failed.ours.deliveries_path, params=since, headers=bob.headers), 403)
    assert_error(client.post(recover_path(failed.ours), json=since, headers=bob.headers), 403)

    assert failed.listed(status="failed") == ["late", "in2", "in1", "early"]


def test_a_subscription_through_another_integrations_path_is_404(
    failed: Timeline, bob: SeededUser
) -> None:
    client = failed.chat.client
    since = {"since": failed.created["early"]}
    bobs = make_integration(client, bob, name="Bob's own")
    mine_under_bobs = (
        f"/v1/buzz/integrations/{bobs['id']}/subscriptions/{failed.ours.subscription_id}"
    )
    theirs_under_ours = (
        f"/v1/buzz/integrations/{failed.ours.integration_id}"
        f"/subscriptions/{failed.theirs.subscription_id}"
    )

    for path, headers in ((mine_under_bobs, bob.headers), (theirs_under_ours, failed.chat.headers)):
        assert_error(client.get(f"{path}/deliveries", headers=headers), 404)
        assert_error(client.post(f"{path}/recover", json=since, headers=headers), 404)

    assert failed.listed(status="failed") == ["late", "in2", "in1", "early"]
    assert len(failed.listed(failed.theirs, status="failed")) == 4


def test_recover_needs_a_token(failed: Timeline) -> None:
    response = failed.chat.client.post(
        recover_path(failed.ours), json={"since": failed.created["early"]}
    )
    assert_error(response, 401)
    assert len(failed.listed(status="failed")) == 4
