"""Seed flows and authentic sources: FPIE computations kept 10 years, source imports (issue 6)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ila.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "source_employments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("employment_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("imported_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employment_id"],
            ["employments.id"],
            name=op.f("fk_source_employments_employment_id_employments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_employments")),
        sa.UniqueConstraint("source", "line_id", name=op.f("uq_source_employments_source_line_id")),
    )
    op.create_index(
        op.f("ix_source_employments_employment_id"),
        "source_employments",
        ["employment_id"],
        unique=False,
    )
    op.create_table(
        "fpie_computations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("national_number", sa.String(length=11), nullable=False),
        sa.Column("organisation", sa.String(length=10), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("legal_context", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("case", sa.String(length=32), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("total_allowance", ila.db.base.ExactDecimal(12, 2), nullable=False),
        sa.Column("inputs", _json(), nullable=False),
        sa.Column("result", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fpie_computations")),
    )
    op.create_index(
        "ix_fpie_computations_person",
        "fpie_computations",
        ["national_number", "id"],
        unique=False,
    )
    op.create_index(
        "ix_fpie_computations_retain_until",
        "fpie_computations",
        ["retain_until"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_fpie_computations_retain_until", table_name="fpie_computations")
    op.drop_index("ix_fpie_computations_person", table_name="fpie_computations")
    op.drop_table("fpie_computations")
    op.drop_index(op.f("ix_source_employments_employment_id"), table_name="source_employments")
    op.drop_table("source_employments")
