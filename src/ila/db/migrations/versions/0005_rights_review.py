"""Rights review: the employer verifies a computed right or opts out with a reason (issue 3)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "right_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("right_version_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("verified_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("verified_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_right_verifications_employer_id_employers"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_right_verifications_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["right_version_id"],
            ["right_versions.id"],
            name=op.f("fk_right_verifications_right_version_id_right_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_right_verifications")),
        sa.UniqueConstraint(
            "right_version_id", name=op.f("uq_right_verifications_right_version_id")
        ),
    )
    op.create_index(
        "ix_right_verifications_employer_year",
        "right_verifications",
        ["employer_id", "year"],
        unique=False,
    )
    op.create_table(
        "right_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        sa.Column("withdraw_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_right_opt_outs_employer_id_employers")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_right_opt_outs_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_right_opt_outs")),
    )
    op.create_index(
        "ix_right_opt_outs_employer_year", "right_opt_outs", ["employer_id", "year"], unique=False
    )
    op.create_index(
        "uq_right_opt_outs_active",
        "right_opt_outs",
        ["employer_id", "year", "person_id"],
        unique=True,
        sqlite_where=sa.text("withdrawn_at IS NULL"),
        postgresql_where=sa.text("withdrawn_at IS NULL"),
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_index("uq_right_opt_outs_active", table_name="right_opt_outs")
    op.drop_index("ix_right_opt_outs_employer_year", table_name="right_opt_outs")
    op.drop_table("right_opt_outs")
    op.drop_index("ix_right_verifications_employer_year", table_name="right_verifications")
    op.drop_table("right_verifications")
