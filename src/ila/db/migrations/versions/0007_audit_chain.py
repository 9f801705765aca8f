"""Tamper-evident audit: hash chain, signed checkpoints, retention proofs (issue 6)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 20:40:00.000000
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
