"""what the contact center learns: summaries, drivers, repeat contacts, fairness groups

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:50:00

- ``calls``: ``outcome`` (the summary's), ``reason`` (the customer's stated reason, redacted, in
  English) and ``reason_vector`` (its sentence embedding), ``driver_id`` (the discovered driver
  it belongs to), ``repeat_of`` / ``repeat_days`` (the same customer's earlier call within the
  tenant's repeat window), and the fairness groups ``language``, ``accent_group``, ``channel``
  with ``asr_confidence`` and ``escalated``.
- ``drivers``: each tenant's discovered call drivers; an id never changes once given.
- ``contact_keys``: keyed pseudonyms (HMAC) of the caller's number and of the order, account and
  case numbers said in a call; the raw values are never stored. Erasing a call deletes its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def call_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_vector", sa.JSON(), nullable=True),
        sa.Column("driver_id", sa.String(length=32), nullable=True),
        sa.Column("repeat_of", sa.String(length=64), nullable=True),
        sa.Column("repeat_days", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("accent_group", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("asr_confidence", sa.Float(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        for column in call_columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_calls_driver_id", ["driver_id"])
        batch_op.create_index("ix_calls_repeat_of", ["repeat_of"])
    op.create_table(
        "drivers",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id"),
    )
    op.create_table(
        "contact_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant", "key", "call_id", name="uq_contact_keys_tenant_key_call"),
    )
    op.create_index("ix_contact_keys_tenant_key", "contact_keys", ["tenant", "key"])
    op.create_index("ix_contact_keys_call_id", "contact_keys", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_keys_call_id", table_name="contact_keys")
    op.drop_index("ix_contact_keys_tenant_key", table_name="contact_keys")
    op.drop_table("contact_keys")
    op.drop_table("drivers")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_repeat_of")
        batch_op.drop_index("ix_calls_driver_id")
        for column in reversed(call_columns()):
            batch_op.drop_column(column.name)
