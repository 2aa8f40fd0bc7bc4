"""BuzzChat v1: subscribers, keys, accounts, bot settings and state, counters, webhooks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:06:11.695617
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import buzz.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bz_subscribers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bz_subscribers")),
    )
    op.create_table(
        "bz_accounts",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscriber_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_bz_accounts_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bz_accounts")),
        sa.UniqueConstraint("id", name=op.f("uq_bz_accounts_id")),
    )
    with op.batch_alter_table("bz_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bz_accounts_subscriber_id"), ["subscriber_id"], unique=False
        )

    op.create_table(
        "bz_api_keys",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscriber_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", buzz.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_bz_api_keys_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bz_api_keys")),
        sa.UniqueConstraint("id", name=op.f("uq_bz_api_keys_id")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_bz_api_keys_key_hash")),
    )
    with op.batch_alter_table("bz_api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bz_api_keys_subscriber_id"), ["subscriber_id"], unique=False
        )

    op.create_table(
        "bz_idempotency",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subscriber_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_bz_idempotency_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bz_idempotency")),
        sa.UniqueConstraint(
            "subscriber_id", "key", name=op.f("uq_bz_idempotency_subscriber_id_key")
        ),
    )
    with op.batch_alter_table("bz_idempotency", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bz_idempotency_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "bz_webhooks",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscriber_id", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column(
            "events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("last_triggered_at", buzz.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_bz_webhooks_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["delivery_targets.id"],
            name=op.f("fk_bz_webhooks_target_id_delivery_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bz_webhooks")),
        sa.UniqueConstraint("id", name=op.f("uq_bz_webhooks_id")),
        sa.UniqueConstraint("target_id", name=op.f("uq_bz_webhooks_target_id")),
    )
    with op.batch_alter_table("bz_webhooks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bz_webhooks_subscriber_id"), ["subscriber_id"], unique=False
        )

    op.create_table(
        "bz_bot_messages",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_at", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("keyword", sa.String(length=200), nullable=True),
        sa.Column("rule_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_bot_messages_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bz_bot_messages")),
        sa.UniqueConstraint("id", name=op.f("uq_bz_bot_messages_id")),
    )
    with op.batch_alter_table("bz_bot_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bz_bot_messages_account_created", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_bz_bot_messages_account_sent", ["account_id", "sent_at"], unique=False
        )
        batch_op.create_index("ix_bz_bot_messages_due", ["status", "send_at"], unique=False)

    op.create_table(
        "bz_bot_settings",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("bot_active", sa.Boolean(), nullable=False),
        sa.Column("welcome_enabled", sa.Boolean(), nullable=False),
        sa.Column("welcome_message", sa.Text(), nullable=False),
        sa.Column("welcome_delay", sa.Integer(), nullable=False),
        sa.Column("timer_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "timer_messages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("faq_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "faq_rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("giveaway_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "giveaway_keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("bot_session", sa.Integer(), nullable=False),
        sa.Column("giveaway_round", sa.Integer(), nullable=False),
        sa.Column("updated_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_bot_settings_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_bz_bot_settings")),
    )
    op.create_table(
        "bz_daily_faq_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("day", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_daily_faq_counts_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "keyword", name=op.f("pk_bz_daily_faq_counts")
        ),
    )
    op.create_table(
        "bz_daily_message_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("day", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_daily_message_counts_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "kind", name=op.f("pk_bz_daily_message_counts")
        ),
    )
    op.create_table(
        "bz_faq_cooldowns",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=32), nullable=False),
        sa.Column("replied_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_faq_cooldowns_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "rule_id", name=op.f("pk_bz_faq_cooldowns")),
    )
    op.create_table(
        "bz_giveaway_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("username_key", sa.String(length=100), nullable=False),
        sa.Column("entered_at", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("won_at", buzz.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_giveaway_entries_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bz_giveaway_entries")),
        sa.UniqueConstraint(
            "account_id",
            "round",
            "username_key",
            name=op.f("uq_bz_giveaway_entries_account_id_round_username_key"),
        ),
    )
    op.create_table(
        "bz_hourly_faq_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("hour", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_hourly_faq_counts_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "hour", "keyword", name=op.f("pk_bz_hourly_faq_counts")
        ),
    )
    op.create_table(
        "bz_hourly_message_counts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("hour", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_hourly_message_counts_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "hour", "kind", name=op.f("pk_bz_hourly_message_counts")
        ),
    )
    op.create_table(
        "bz_timer_states",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("timer_id", sa.String(length=32), nullable=False),
        sa.Column("next_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_timer_states_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "timer_id", name=op.f("pk_bz_timer_states")),
    )
    with op.batch_alter_table("bz_timer_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bz_timer_states_next_at"), ["next_at"], unique=False)

    op.create_table(
        "bz_viewers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("bot_session", sa.Integer(), nullable=False),
        sa.Column("username_key", sa.String(length=100), nullable=False),
        sa.Column("first_seen_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["bz_accounts.id"],
            name=op.f("fk_bz_viewers_account_id_bz_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bz_viewers")),
        sa.UniqueConstraint(
            "account_id",
            "bot_session",
            "username_key",
            name=op.f("uq_bz_viewers_account_id_bot_session_username_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("bz_viewers")
    with op.batch_alter_table("bz_timer_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bz_timer_states_next_at"))

    op.drop_table("bz_timer_states")
    op.drop_table("bz_hourly_message_counts")
    op.drop_table("bz_hourly_faq_counts")
    op.drop_table("bz_giveaway_entries")
    op.drop_table("bz_faq_cooldowns")
    op.drop_table("bz_daily_message_counts")
    op.drop_table("bz_daily_faq_counts")
    op.drop_table("bz_bot_settings")
    with op.batch_alter_table("bz_bot_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_bz_bot_messages_due")
        batch_op.drop_index("ix_bz_bot_messages_account_sent")
        batch_op.drop_index("ix_bz_bot_messages_account_created")

    op.drop_table("bz_bot_messages")
    with op.batch_alter_table("bz_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bz_webhooks_subscriber_id"))

    op.drop_table("bz_webhooks")
    with op.batch_alter_table("bz_idempotency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bz_idempotency_created_at"))

    op.drop_table("bz_idempotency")
    with op.batch_alter_table("bz_api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bz_api_keys_subscriber_id"))

    op.drop_table("bz_api_keys")
    with op.batch_alter_table("bz_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bz_accounts_subscriber_id"))

    op.drop_table("bz_accounts")
    op.drop_table("bz_subscribers")
