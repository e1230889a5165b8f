"""status_lists, status_allocations: IETF Token Status Lists (sharded bits, allocated indices);
licence_signers: the certificate that signed each licence (signed-by)

Revision ID: 0003_i9_status_lists
Revises: 0003_i10_tlog
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import exchange.kit.db

revision = "0003_i9_status_lists"
down_revision = "0003_i10_tlog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.String(length=32), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
        sa.UniqueConstraint("list_id", name=op.f("uq_status_lists_list_id")),
    )
    op.create_table(
        "status_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_pk", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("created_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["list_pk"], ["status_lists.id"],
                                name=op.f("fk_status_allocations_list_pk_status_lists")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_allocations")),
        sa.UniqueConstraint("list_pk", "idx", name=op.f("uq_status_allocations_list_pk_idx")),
    )
    with op.batch_alter_table("status_allocations", schema=None) as batch_op:
        batch_op.create_index("ix_status_allocations_subject", ["kind", "subject"], unique=True)
        batch_op.create_index(batch_op.f("ix_status_allocations_owner"), ["owner"], unique=False)
    op.create_table(
        "licence_signers",
        sa.Column("licence_id", sa.String(length=128), nullable=False),
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("licence_id", name=op.f("pk_licence_signers")),
    )
    with op.batch_alter_table("licence_signers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licence_signers_cert_fingerprint"), ["cert_fingerprint"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("licence_signers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_signers_cert_fingerprint"))
    op.drop_table("licence_signers")
    with op.batch_alter_table("status_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_allocations_owner"))
        batch_op.drop_index("ix_status_allocations_subject")
    op.drop_table("status_allocations")
    op.drop_table("status_lists")
