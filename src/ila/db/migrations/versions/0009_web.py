"""Web interface: roles people hold with an employer, contested training records (issue 5)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("national_number", sa.String(length=11), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_web_roles_employer_id_employers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_roles")),
    )
    with op.batch_alter_table("web_roles", schema=None) as batch_op:
        batch_op.create_index("ix_web_roles_national_number", ["national_number"], unique=False)
        batch_op.create_index("ix_web_roles_employer", ["employer_id"], unique=False)

    op.create_table(
        "web_contests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column("national_number", sa.String(length=11), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("opened_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_web_contests_employer_id_employers")
        ),
        sa.ForeignKeyConstraint(
            ["training_id"], ["trainings.id"], name=op.f("fk_web_contests_training_id_trainings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_contests")),
    )
    with op.batch_alter_table("web_contests", schema=None) as batch_op:
        batch_op.create_index("ix_web_contests_training", ["training_id"], unique=False)
        batch_op.create_index(
            "ix_web_contests_employer_open", ["employer_id", "resolved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("web_contests", schema=None) as batch_op:
        batch_op.drop_index("ix_web_contests_employer_open")
        batch_op.drop_index("ix_web_contests_training")
    op.drop_table("web_contests")
    with op.batch_alter_table("web_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_web_roles_employer")
        batch_op.drop_index("ix_web_roles_national_number")
    op.drop_table("web_roles")
