"""Record each batch sent with an Idempotency-Key, so that a retried batch is stored once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One row per idempotent batch, written in the transaction of its assessments: the key,
    the body's hash and the results (assessment ids and per-item problems) to answer a replay
    with. (api_key_id, idempotency_key) unique scopes keys per API key, as for assessments."""
    op.create_table(
        "idempotent_batches",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("body_hash", sa.String(100), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_batches_idempotency"),
    )


def downgrade() -> None:
    op.drop_table("idempotent_batches")
