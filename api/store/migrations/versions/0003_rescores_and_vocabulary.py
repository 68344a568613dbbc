"""current verdicts, close calls, job parameters, tenant vocabularies

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 13:40:00

- ``calls.verdict_policy_id`` / ``calls.verdict_policy_version``: the policy (stored version) of
  the call's current verdict: its analysis, or its newest re-score. Filled from the analysed
  policy for calls stored before this revision.
- ``calls.close_calls``: how many of the current verdict's checks are close calls (the matcher's
  score within a margin of the rule's threshold); NULL for records scored before calibration.
- ``jobs.params`` / ``jobs.result``: what a job other than an analysis was asked, and its report
  (a policy-wide re-score).
- ``vocabularies``: each tenant's versions of its own words (terms with spoken forms).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verdict_policy_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("verdict_policy_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("close_calls", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE calls SET verdict_policy_id = policy_id, verdict_policy_version = policy_version"
        " WHERE score IS NOT NULL"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))
    op.create_table(
        "vocabularies",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "version"),
    )


def downgrade() -> None:
    op.drop_table("vocabularies")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("result")
        batch_op.drop_column("params")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("close_calls")
        batch_op.drop_column("verdict_policy_version")
        batch_op.drop_column("verdict_policy_id")
