"""XML batch channel: the record ids a sender applied are its accepted results (ADR 0024)

The ``sender`` and ``digest`` of each applied record id move from ``batch_sender_records`` to
the accepted result of the same record in ``batch_records`` (the two rows were always written
together); a partial unique index keeps one applied record id per sender. One row per record
instead of two.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPLIED = sa.text("digest IS NOT NULL")
_MATCH = (
    "batch_sender_records.batch_id = batch_records.batch_id "
    "AND batch_sender_records.record_id = batch_records.record_id"
)


def upgrade() -> None:
    with op.batch_alter_table("batch_records") as batch:
        batch.add_column(sa.Column("sender", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("digest", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    unmatched = conn.scalar(
        sa.text(
            "SELECT count(*) FROM batch_sender_records WHERE NOT EXISTS ("  # noqa: S608
            f"SELECT 1 FROM batch_records WHERE {_MATCH} AND batch_records.status = 'accepted')"
        )
    )
    if unmatched:  # never written apart; refuse to lose one rather than guess
        raise RuntimeError(
            f"{unmatched} applied record ids have no accepted result in their batch; "
            "batch_sender_records left as it is"
        )
    conn.execute(
        sa.text(
            "UPDATE batch_records SET "  # noqa: S608
            f"sender = (SELECT sender FROM batch_sender_records WHERE {_MATCH}), "
            f"digest = (SELECT digest FROM batch_sender_records WHERE {_MATCH}) "
            "WHERE status = 'accepted' AND record_id IS NOT NULL"
        )
    )
    op.create_index(
        "uq_batch_records_applied",
        "batch_records",
        ["sender", "record_id"],
        unique=True,
        sqlite_where=_APPLIED,
        postgresql_where=_APPLIED,
    )
    op.drop_table("batch_sender_records")


def downgrade() -> None:
    op.create_table(
        "batch_sender_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_batch_sender_records_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_sender_records")),
        sa.UniqueConstraint(
            "sender", "record_id", name=op.f("uq_batch_sender_records_sender_record_id")
        ),
    )
    op.execute(
        "INSERT INTO batch_sender_records "
        "(sender, record_id, digest, batch_id, training_id, version) "
        "SELECT sender, record_id, digest, batch_id, training_id, version FROM batch_records "
        "WHERE digest IS NOT NULL ORDER BY id"
    )
    op.drop_index("uq_batch_records_applied", table_name="batch_records")
    with op.batch_alter_table("batch_records") as batch:
        batch.drop_column("digest")
        batch.drop_column("sender")
