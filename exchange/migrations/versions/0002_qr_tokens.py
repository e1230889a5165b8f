"""qr_tokens: dynamic QR token id (hashed) → holder

Revision ID: 0002_qr_tokens
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import exchange.kit.db

revision = "0002_qr_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qr_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_hash", sa.String(length=64), nullable=False),
        sa.Column("session_jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_qr_tokens")),
    )
    with op.batch_alter_table("qr_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qr_tokens_holder_hash"), ["holder_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_qr_tokens_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qr_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qr_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_qr_tokens_holder_hash"))
    op.drop_table("qr_tokens")
