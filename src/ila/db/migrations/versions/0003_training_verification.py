"""Trainings: verification by the employer of records sent by a training provider; an index
for an employer's list

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trainings") as batch:
        batch.add_column(sa.Column("verified_at", ila.db.base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("verified_by", sa.String(length=200), nullable=True))
    op.create_index("ix_trainings_employer", "trainings", ["employer_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trainings_employer", table_name="trainings")
    with op.batch_alter_table("trainings") as batch:
        batch.drop_column("verified_by")
        batch.drop_column("verified_at")
