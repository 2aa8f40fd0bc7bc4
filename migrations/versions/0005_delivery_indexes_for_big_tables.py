"""Indexes that keep the claim and retention index-bound on a table of millions (SPEC §4.5).

- `ix_deliveries_due` gains `id`, the claim's tie-break, so PostgreSQL reads due rows in order
  and stops at the LIMIT instead of sorting every due row (SQLite's index already ended in the
  rowid);
- `ix_deliveries_finished` (created_at, id) of rows that are not pending: retention finds the
  oldest finished rows, or that there are none, without walking the table.

On PostgreSQL the indexes are built inside the migration's transaction, which holds writes to
`deliveries` meanwhile: `bench/big_table.py` measures it on 5,000,000 rows (docs/hardening.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
FINISHED = sa.text("status <> 'pending'")


def upgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_deliveries_finished",
        "deliveries",
        ["created_at", "id"],
        postgresql_where=FINISHED,
        sqlite_where=FINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_finished", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
