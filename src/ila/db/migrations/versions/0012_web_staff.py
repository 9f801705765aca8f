"""Web staff: counsellors of regional services, service providers' employees and the operator
who log in with OpenID Connect

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_number", sa.String(length=11), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organisation", sa.String(length=10), nullable=False),
        sa.Column("function", sa.String(length=60), nullable=True),
        sa.Column("granted_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_staff")),
    )
    with op.batch_alter_table("web_staff", schema=None) as batch_op:
        batch_op.create_index("ix_web_staff_national_number", ["national_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_staff", schema=None) as batch_op:
        batch_op.drop_index("ix_web_staff_national_number")
    op.drop_table("web_staff")
