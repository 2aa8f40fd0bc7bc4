"""The portal (SPEC §7): one-use links and the browser sessions they open (stored hashed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:33:53
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import buzz.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=True),
        sa.Column("subscriber_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", buzz.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", buzz.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_portal_links_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_portal_links_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_links_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_links_subscriber_id"), ["subscriber_id"], unique=False
        )

    op.create_table(
        "portal_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=True),
        sa.Column("subscriber_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", buzz.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", buzz.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_portal_sessions_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["bz_subscribers.id"],
            name=op.f("fk_portal_sessions_subscriber_id_bz_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_subscriber_id"), ["subscriber_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_subscriber_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_integration_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_expires_at"))

    op.drop_table("portal_sessions")
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_links_subscriber_id"))
        batch_op.drop_index(batch_op.f("ix_portal_links_integration_id"))

    op.drop_table("portal_links")
