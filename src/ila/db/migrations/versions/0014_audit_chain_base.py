"""Audit chain base: where the chain starts once retention destroyed its oldest part

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("base_hash", sa.String(length=64), server_default="0" * 64, nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("base_hash")
        batch_op.drop_column("base_seq")
