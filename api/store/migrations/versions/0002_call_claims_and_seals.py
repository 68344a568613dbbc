"""call seals, upload idempotency keys, key names per tenant

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 14:30:00

- ``calls.seal`` / ``calls.seal_key_id``: a signature over what a row says of the call's origin
  and fate; rows from before this revision are sealed as they are on the next start.
- ``calls.idempotency_key``, unique per tenant: a retried upload answers with its first call.
- ``api_keys.name`` is unique per tenant, no longer across tenants (a 409 named another
  tenant's key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite names none of 0001's unique constraints; this names them for the batch copy
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_key_name_constraint() -> str:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return "uq_api_keys_name"
    for constraint in sa.inspect(bind).get_unique_constraints("api_keys"):
        if constraint["column_names"] == ["name"] and constraint["name"]:
            return str(constraint["name"])
    return "api_keys_name_key"


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("seal", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("seal_key_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_calls_tenant_idempotency_key", ["tenant", "idempotency_key"]
        )
    old = _old_key_name_constraint()
    with op.batch_alter_table("api_keys", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(old, type_="unique")
        batch_op.create_unique_constraint("uq_api_keys_tenant_name", ["tenant", "name"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_keys_tenant_name", type_="unique")
        batch_op.create_unique_constraint("uq_api_keys_name", ["name"])
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint("uq_calls_tenant_idempotency_key", type_="unique")
        batch_op.drop_column("seal_key_id")
        batch_op.drop_column("seal")
        batch_op.drop_column("idempotency_key")
