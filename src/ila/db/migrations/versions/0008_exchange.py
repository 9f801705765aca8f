"""Data exchange: authorisations, person directory, outbox, seed flows (issue 6)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ila.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorisation_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("legal_reference", sa.String(length=500), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("loaded_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("superseded_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_authorisations")),
        sa.UniqueConstraint(
            "authorisation_id",
            "version",
            name=op.f("uq_exchange_authorisations_authorisation_id_version"),
        ),
    )
    op.create_index(
        "uq_exchange_authorisations_current",
        "exchange_authorisations",
        ["authorisation_id"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_table(
        "exchange_directory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(length=10), nullable=False),
        sa.Column("national_number", sa.String(length=11), nullable=False),
        sa.Column("capacity", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("registered_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("unregistered_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("unregistered_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_directory")),
    )
    op.create_index(
        "ix_exchange_directory_person",
        "exchange_directory",
        ["institution", "national_number", "capacity"],
        unique=False,
    )
    op.create_index(
        "ix_exchange_directory_institution",
        "exchange_directory",
        ["institution", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_directory_institution", table_name="exchange_directory")
    op.drop_index("ix_exchange_directory_person", table_name="exchange_directory")
    op.drop_table("exchange_directory")
    op.drop_index("uq_exchange_authorisations_current", table_name="exchange_authorisations")
    op.drop_table("exchange_authorisations")
