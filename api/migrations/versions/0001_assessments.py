"""Create the append-only assessments table.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One row per assessment; (api_key_id, idempotency_key) unique scopes keys per API key."""
    op.create_table(
        "assessments",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("band", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("pack_name", sa.String(200), nullable=False),
        sa.Column("pack_version", sa.String(100), nullable=False),
        sa.Column("pack_digest", sa.String(100), nullable=False),
        sa.Column("api_key_id", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("body_hash", sa.String(100), nullable=True),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.UniqueConstraint("id", name="uq_assessments_id"),
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_assessments_idempotency"),
    )
    op.create_index("ix_assessments_created_at", "assessments", ["created_at"])
    op.create_index("ix_assessments_reference", "assessments", ["reference"])
    op.create_index("ix_assessments_decision", "assessments", ["decision"])
    op.create_index("ix_assessments_band", "assessments", ["band"])


def downgrade() -> None:
    op.drop_table("assessments")
