"""Scheduled jobs: the periodic work's next run, lease and last outcome

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 23:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("running_by", sa.String(length=120), nullable=True),
        sa.Column("lease_until", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_started_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_outcome", sa.String(length=10), nullable=True),
        sa.Column("last_summary", sa.String(length=500), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_jobs")
