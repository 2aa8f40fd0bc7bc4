"""Delivery engine (targets, outbox, attempts), integration signing secrets, callback tokens.

Existing integrations get a signing secret and existing subscriptions a delivery target.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:37:45.738967
"""

import base64
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import buzz.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_targets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column(
            "secrets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_targets")),
    )
    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("first_attempt_at", buzz.db.UTCDateTime(), nullable=True),
        sa.Column("last_response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["delivery_targets.id"],
            name=op.f("fk_deliveries_target_id_delivery_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("public_id", name=op.f("uq_deliveries_public_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index("ix_deliveries_target_id_id", ["target_id", "id"], unique=False)

    op.create_table(
        "callback_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", buzz.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_callback_tokens_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_callback_tokens_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_callback_tokens")),
    )
    with op.batch_alter_table("callback_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_callback_tokens_integration_id"), ["integration_id"], unique=False
        )

    op.create_table(
        "delivery_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", buzz.db.UTCDateTime(), nullable=False),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_secret", sa.String(length=64), nullable=True))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_id", sa.String(length=36), nullable=True))
    _backfill()
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.alter_column("signing_secret", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.alter_column("target_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_index(batch_op.f("ix_subscriptions_target_id"), ["target_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subscriptions_target_id_delivery_targets"),
            "delivery_targets",
            ["target_id"],
            ["id"],
            ondelete="CASCADE",
        )


def _backfill() -> None:
    """A signing secret for every integration, a delivery target for every subscription."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    integrations = sa.table(
        "integrations",
        sa.column("id"),
        sa.column("headers", sa.JSON()),
        sa.column("signing_secret"),
    )
    subscriptions = sa.table(
        "subscriptions",
        sa.column("id"),
        sa.column("integration_id"),
        sa.column("url"),
        sa.column("target_id"),
    )
    targets = sa.table(
        "delivery_targets",
        sa.column("id"),
        sa.column("url"),
        sa.column("secrets", sa.JSON()),
        sa.column("headers", sa.JSON()),
        sa.column("style"),
        sa.column("active", sa.Boolean()),
        sa.column("created_at", buzz.db.UTCDateTime()),
    )
    secret_of: dict[str, str] = {}
    headers_of: dict[str, object] = {}
    for integration_id, headers in bind.execute(
        sa.select(integrations.c.id, integrations.c.headers)
    ):
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        secret_of[integration_id] = secret
        headers_of[integration_id] = json.loads(headers) if isinstance(headers, str) else headers
        bind.execute(
            integrations.update()
            .where(integrations.c.id == integration_id)
            .values(signing_secret=secret)
        )
    rows = bind.execute(
        sa.select(subscriptions.c.id, subscriptions.c.integration_id, subscriptions.c.url)
    ).all()
    for subscription_id, integration_id, url in rows:
        target_id = str(uuid.uuid4())
        bind.execute(
            targets.insert().values(
                id=target_id,
                url=url,
                secrets=[{"secret": secret_of[integration_id], "expiresAt": None}],
                headers=headers_of[integration_id],
                style="standard",
                active=True,
                created_at=now,
            )
        )
        bind.execute(
            subscriptions.update()
            .where(subscriptions.c.id == subscription_id)
            .values(target_id=target_id)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_subscriptions_target_id_delivery_targets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_subscriptions_target_id"))
        batch_op.drop_column("target_id")

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_column("signing_secret")

    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("callback_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_tokens_integration_id"))
        batch_op.drop_index(batch_op.f("ix_callback_tokens_expires_at"))

    op.drop_table("callback_tokens")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_target_id_id")
        batch_op.drop_index(
            "ix_deliveries_due",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.drop_table("deliveries")
    op.drop_table("delivery_targets")
