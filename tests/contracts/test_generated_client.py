"""A client generated from `openapi/openapi.json` runs both README tours, unaided (issue 11).

`openapi-python-client` (pinned in the test extras) generates a package from the committed
document into a temporary folder, offline and without post-hooks, so the run depends on nothing
but the document and the generator. Against a real `buzz serve` the tests then use only that
package's functions, its models and its `Client`/`AuthenticatedClient`; no request is written by
hand. Every answer must parse into the model the document promises for its status, and statuses
the document does not list raise (`raise_on_unexpected_status=True`).

HTTP Basic on `/oauth/token` (`clientBasic`): the generator models no Basic scheme; it types a
secured operation's `client` as `AuthenticatedClient`, whose `prefix` makes the header
`Authorization: Basic <base64(id:secret)>`. The GET variant is driven with the plain `Client` and
`httpx_args={"auth": (id, secret)}`, the way its docs give a client any other httpx auth, and the
form-field variant the document also declares (`client_id`, `client_secret`) with no auth at all.
"""

from __future__ import annotations

import base64
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import LiveServer, buzz_serve

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
PACKAGE = "buzz_generated_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


class Generated:
    """The generated package, its modules imported on demand, and what the generator said."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.client: Any = importlib.import_module(f"{PACKAGE}.client")
        self.models: Any = importlib.import_module(f"{PACKAGE}.models")

    def api(self, tag: str, operation: str) -> Any:
        """`api/<tag>/<operation>.py`, e.g. `api("channels", "create_channel")`."""
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    workdir = tmp_path_factory.mktemp("generated-client")
    config = workdir / "config.json"
    # No post-hooks: the default ones run ruff on the output, which changes nothing we import.
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    result = subprocess.run(  # noqa: S603 - the pinned generator, fixed arguments
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(workdir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(workdir))
    try:
        yield Generated(result.stdout + result.stderr)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    """A `buzz serve` and what `buzz admin bootstrap --json` printed, run with its environment."""
    with buzz_serve(tmp_path_factory.mktemp("served")) as server:
        yield server, server.bootstrap()


def ok(response: Any, status: int, model: Any) -> Any:
    """The parsed body of `response`, which answered `status` and parsed into `model`."""
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


def test_the_document_generates_every_operation(generated: Generated) -> None:
    """The generator drops nothing: no operation, response or schema it could not read."""
    assert "Warning" not in generated.output, generated.output


def test_buzz_tour_with_the_generated_client(
    generated: Generated, served: tuple[LiveServer, Any]
) -> None:
    server, creds = served
    m = generated.models
    client_id, secret = creds["client"]["clientId"], creds["client"]["clientSecret"]

    # 1. A one-hour bearer token, three ways the document declares.
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with generated.client.AuthenticatedClient(
        base_url=server.base_url, token=basic, prefix="Basic", raise_on_unexpected_status=True
    ) as client_basic:
        issued = ok(
            generated.api("o_auth", "issue_token").sync_detailed(
                client=client_basic, grant_type=m.IssueTokenGrantType.CLIENT_CREDENTIALS
            ),
            200,
            m.TokenResponse,
        )
    assert issued.token_type == "bearer"
    assert issued.expires_in == 3600
    assert issued.scope == "buzz"
    assert issued.user_id == creds["user"]["id"]

    with generated.client.Client(
        base_url=server.base_url,
        httpx_args={"auth": (client_id, secret)},
        raise_on_unexpected_status=True,
    ) as client_auth:
        by_get = ok(
            generated.api("o_auth", "issue_token_with_get").sync_detailed(
                client=client_auth, grant_type=m.IssueTokenWithGetGrantType.CLIENT_CREDENTIALS
            ),
            200,
            m.TokenResponse,
        )
    assert by_get.access_token != issued.access_token

    with generated.client.Client(
        base_url=server.base_url, raise_on_unexpected_status=True
    ) as anonymous:
        by_form = ok(
            generated.api("o_auth", "issue_token").sync_detailed(
                client=anonymous,
                grant_type=m.IssueTokenGrantType.CLIENT_CREDENTIALS,
                body=m.IssueTokenBody(client_id=client_id, client_secret=secret),
            ),
            200,
            m.TokenResponse,
        )
        refused = ok(
            generated.api("o_auth", "issue_token").sync_detailed(
                client=anonymous,
                grant_type=m.IssueTokenGrantType.CLIENT_CREDENTIALS,
                body=m.IssueTokenBody(client_id=client_id, client_secret=secret + "x"),
            ),
            401,
            m.BuzzError,
        )
    assert by_form.user_id == issued.user_id
    assert refused.status == 401
    assert refused.path == "/oauth/token"

    with generated.client.AuthenticatedClient(
        base_url=server.base_url, token=issued.access_token, raise_on_unexpected_status=True
    ) as client:
        # 2. A channel.
        channel = ok(
            generated.api("channels", "create_channel").sync_detailed(
                client=client,
                body=m.ChannelCreate(title="General", visibility=m.Visibility.PUBLIC),
            ),
            201,
            m.Channel,
        )
        assert channel.title == "General"
        assert channel.visibility == m.Visibility.PUBLIC
        assert channel.parent_id == channel.id

        # 3. An integration active on that channel, with a header sent on every event.
        header = m.Header(name="x-my-api-secret", value="b5d25c5b-e38f-495e-9e16-40973be50c3a")
        integration = ok(
            generated.api("integrations", "create_integration").sync_detailed(
                client=client,
                body=m.IntegrationCreate(
                    name="Sentiment Analyzer",
                    description="Natural language processor that determines user sentiment",
                    scope=m.Scope.CHANNEL_LIST,
                    channel_ids=[channel.id],
                    headers=[header],
                ),
            ),
            200,
            m.Integration,
        )
        assert integration.owner_id == creds["user"]["id"]
        assert integration.scope == m.Scope.CHANNEL_LIST
        assert integration.channel_ids == [channel.id]
        assert [(h.name, h.value) for h in integration.headers] == [(header.name, header.value)]
        assert integration.signing_secret.startswith("whsec_")

        # 4. A subscription to `/close ...`, and the list that shows it.
        subscription = ok(
            generated.api("integrations", "create_subscription").sync_detailed(
                integration.id,
                client=client,
                body=m.SubscriptionCreate(
                    event_type=m.EventType.SLASH_COMMAND,
                    url="https://my.domain.com/buzz-integration/close-deal",
                    slash_command="close",
                ),
            ),
            200,
            m.Subscription,
        )
        assert subscription.event_type == m.EventType.SLASH_COMMAND
        assert subscription.slash_command == "close"
        assert subscription.active is True
        listed = ok(
            generated.api("integrations", "list_subscriptions").sync_detailed(
                integration.id, client=client
            ),
            200,
            m.SubscriptionList,
        )
        assert [s.to_dict() for s in listed.subscriptions] == [subscription.to_dict()]

        # 5. The slash command, and the delivery it queued (the embedded worker is off).
        message = ok(
            generated.api("messages", "post_message").sync_detailed(
                channel.id, client=client, body=m.MessageCreate(text="/close deal 73964")
            ),
            201,
            m.Message,
        )
        assert message.kind == m.MessageKind.SLASH_COMMAND
        assert message.channel_id == channel.id
        assert isinstance(message.author, m.User)
        assert message.author.id == creds["user"]["id"]
        deliveries = ok(
            generated.api("delivery_log", "list_deliveries").sync_detailed(
                integration.id, subscription.id, client=client
            ),
            200,
            m.DeliveryList,
        )
        (delivery,) = deliveries.deliveries
        assert delivery.event_type == "SLASH_COMMAND"
        assert delivery.status == m.DeliveryRecordStatus.PENDING
        assert delivery.attempts == 0


def test_buzzchat_tour_with_the_generated_client(
    generated: Generated, served: tuple[LiveServer, Any]
) -> None:
    server, creds = served
    m = generated.models
    with generated.client.AuthenticatedClient(
        base_url=server.base_url, token=creds["apiKey"]["key"], raise_on_unexpected_status=True
    ) as client:
        # Start the bot: welcome at once, one FAQ rule, giveaway entries on "enter".
        updated = ok(
            generated.api("buzz_chat_settings", "update_settings").sync_detailed(
                client=client,
                body=m.SettingsPatch(
                    bot_active=True,
                    welcome_delay=0,
                    giveaway_enabled=True,
                    faq_rules=[
                        m.FaqRuleIn(triggers=["shipping"], reply="We ship worldwide in 3 days.")
                    ],
                ),
            ),
            200,
            m.OkMessageSettingsOut,
        )
        assert updated.success is True
        assert updated.message == "Settings updated"
        assert updated.data.bot_active is True
        assert updated.data.welcome_delay == 0
        assert updated.data.giveaway_enabled is True
        assert [(r.triggers, r.reply) for r in updated.data.faq_rules] == [
            (["shipping"], "We ship worldwide in 3 days.")
        ]

        # The live chat, as a connector reports it.
        accepted = ok(
            generated.api("buzz_chat_chat", "report_chat_events").sync_detailed(
                client=client,
                body=m.ChatEvents(
                    events=[
                        m.ChatEventIn(
                            type_=m.ChatEventInType.MESSAGE,
                            username="viewer123",
                            text="How much is shipping? enter",
                        )
                    ]
                ),
            ),
            202,
            m.OkAccepted,
        )
        assert (accepted.success, accepted.data.accepted, accepted.data.bot_active) == (
            True,
            1,
            True,
        )

        # The seed's own calls.
        sent = ok(
            generated.api("buzz_chat_messages", "send_message").sync_detailed(
                client=client, body=m.SendMessage(message="Thanks for watching!")
            ),
            200,
            m.OkMessageSent,
        )
        assert sent.success is True
        assert sent.data.message_id.startswith("msg_")
        picked = ok(
            generated.api("buzz_chat_giveaway", "pick_winner").sync_detailed(
                client=client, body=m.PickWinner(count=1)
            ),
            200,
            m.OkWinners,
        )
        assert picked.data.winners == ["viewer123"]
        analytics = ok(
            generated.api("buzz_chat_analytics", "get_analytics").sync_detailed(
                client=client, period=m.Period.WEEK
            ),
            200,
            m.OkAnalytics,
        ).data
        assert analytics.period == m.Period.WEEK
        assert (
            analytics.total_messages,
            analytics.welcome_messages,
            analytics.faq_replies,
            analytics.api_messages,
            analytics.timer_messages,
        ) == (3, 1, 1, 1, 0)

        # A second account, made the active one.
        created = ok(
            generated.api("buzz_chat_accounts", "create_account").sync_detailed(
                client=client, body=m.AccountCreate(name="Second shop")
            ),
            201,
            m.OkAccountOut,
        ).data
        assert (created.name, created.is_active) == ("Second shop", False)
        switched = ok(
            generated.api("buzz_chat_accounts", "switch_account").sync_detailed(
                client=client, body=m.AccountSwitch(account_id=created.id)
            ),
            200,
            m.OkMessageAccountOut,
        )
        assert switched.message == "Switched to account Second shop"
        assert (switched.data.id, switched.data.is_active) == (created.id, True)
        accounts = ok(
            generated.api("buzz_chat_accounts", "list_accounts").sync_detailed(client=client),
            200,
            m.OkAccountList,
        ).data
        active = [a.id for a in accounts.accounts if a.is_active]
        assert active == [created.id]
        assert creds["subscriber"]["accountId"] in {a.id for a in accounts.accounts}
