"""Human dispositions (append-only) and the assessments' provisional flag.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One row per recorded disposition (never updated); `provisional` copied from the
    assessment document when it has one, so that the queue can filter on it."""
    op.create_table(
        "dispositions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("assessment_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("supersedes", sa.String(64), nullable=True),
        sa.UniqueConstraint("id", name="uq_dispositions_id"),
    )
    op.create_index("ix_dispositions_assessment_id", "dispositions", ["assessment_id"])
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("provisional", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("provisional")
    op.drop_index("ix_dispositions_assessment_id", "dispositions")
    op.drop_table("dispositions")
