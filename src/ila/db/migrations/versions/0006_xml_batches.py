"""XML batch channel: batches, per-record results, sender record ids (issue 4)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ila.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.Column("error_line", sa.Integer(), nullable=True),
        sa.Column("received_at", ila.db.base.UTCDateTime(), nullable=False),
        sa.Column("started_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", ila.db.base.UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("sender", "reference", name=op.f("uq_batches_sender_reference")),
        sa.UniqueConstraint("ticket", name=op.f("uq_batches_ticket")),
    )
    op.create_index("ix_batches_status", "batches", ["status", "id"], unique=False)
    op.create_table(
        "batch_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_batch_records_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_records")),
        sa.UniqueConstraint("batch_id", "seq", name=op.f("uq_batch_records_batch_id_seq")),
    )
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


def downgrade() -> None:
    op.drop_table("batch_sender_records")
    op.drop_table("batch_records")
    op.drop_index("ix_batches_status", table_name="batches")
    op.drop_table("batches")
