"""archive_items: the personal e-archive (电子档案)

Revision ID: 0003_i12_archive
Revises: 0002_qr_tokens
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import exchange.kit.db

revision = "0003_i12_archive"
down_revision = "0002_qr_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dt = exchange.kit.db.UTCDateTime(timezone=True)
    op.create_table(
        "archive_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("holder_hash", sa.String(length=64), nullable=False),
        sa.Column("material_type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("source_case", sa.String(length=32), nullable=True),
        sa.Column("source_matter", sa.String(length=64), nullable=True),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("accepted_by", sa.String(length=128), nullable=True),
        sa.Column("accepted_at", dt, nullable=True),
        sa.Column("created_at", dt, nullable=False),
        sa.Column("retain_until", dt, nullable=True),
        sa.Column("deleted_at", dt, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_items")),
    )
    op.create_index("ix_archive_items_holder_type", "archive_items", ["holder_hash", "material_type"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_archive_items_holder_type", table_name="archive_items")
    op.drop_table("archive_items")
