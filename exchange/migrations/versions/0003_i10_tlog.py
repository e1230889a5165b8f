"""transparency log: usage entries carry a salted commitment and a log index; tiles, state, checkpoints,
cosignatures. The per-holder hash chain (seq, prev_hash, entry_hash) goes.

Revision ID: 0003_i10_tlog
Revises: 0003_i12_archive
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

import exchange.kit.db

revision = "0003_i10_tlog"
down_revision = "0003_i12_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tlog_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leaf_input", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_entries")),
        sa.UniqueConstraint("leaf_index", name=op.f("uq_tlog_entries_leaf_index")),
    )
    with op.batch_alter_table("tlog_entries", schema=None) as batch_op:
        batch_op.create_index("ix_tlog_entries_pending", ["id"], unique=False,
                              sqlite_where=sa.text("leaf_index IS NULL"),
                              postgresql_where=sa.text("leaf_index IS NULL"))
    op.create_table(
        "tlog_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_tlog_tiles")),
    )
    op.create_table(
        "tlog_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_state")),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_tlog_checkpoints")),
    )
    with op.batch_alter_table("tlog_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tlog_checkpoints_created_at"), ["created_at"], unique=False)
    op.create_table(
        "tlog_cosignatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("cosigner", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", exchange.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["size"], ["tlog_checkpoints.size"],
                                name=op.f("fk_tlog_cosignatures_size_tlog_checkpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_cosignatures")),
        sa.UniqueConstraint("size", "cosigner", name=op.f("uq_tlog_cosignatures_size")),
    )
    with op.batch_alter_table("tlog_cosignatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tlog_cosignatures_size"), ["size"], unique=False)

    with op.batch_alter_table("usage_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("log_entry_id", sa.BigInteger(), nullable=True))
    _commit_existing_rows()
    with op.batch_alter_table("usage_log", schema=None) as batch_op:
        batch_op.alter_column("salt", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("log_entry_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_constraint("uq_usage_log_holder_hash_seq", type_="unique")
        batch_op.drop_column("seq")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("entry_hash")
        batch_op.create_unique_constraint(batch_op.f("uq_usage_log_log_entry_id"), ["log_entry_id"])
        batch_op.create_index("ix_usage_log_holder_id", ["holder_hash", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_log_at"), ["at"], unique=False)


def _commit_existing_rows() -> None:
    """Give every existing entry a salt and its commitment (the sequencer logs them on its first run)."""
    from verifier.tlog.events import commitment

    conn = op.get_bind()
    table = sa.table("usage_log", sa.column("id", sa.Integer()), sa.column("holder_hash", sa.String()),
                     sa.column("at", exchange.kit.db.UTCDateTime(timezone=True)), sa.column("action", sa.String()),
                     sa.column("outcome", sa.String()), sa.column("actor_kind", sa.String()),
                     sa.column("actor", sa.String()), sa.column("place", sa.String()),
                     sa.column("matter_key", sa.String()), sa.column("subject", sa.JSON()),
                     sa.column("salt", sa.LargeBinary()), sa.column("log_entry_id", sa.BigInteger()))
    entries = sa.table("tlog_entries", sa.column("id", sa.BigInteger()), sa.column("leaf_input", sa.LargeBinary()),
                       sa.column("created_at", exchange.kit.db.UTCDateTime(timezone=True)))
    rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    for row in rows:
        salt = os.urandom(32)
        event = {"holder": row["holder_hash"], "at": row["at"].isoformat(), "action": row["action"],
                 "outcome": row["outcome"], "actor_kind": row["actor_kind"], "actor": row["actor"],
                 "place": row["place"], "matter": row["matter_key"], "subject": row["subject"]}
        entry_id = conn.execute(entries.insert().values(leaf_input=commitment(event, salt), created_at=row["at"])
                                .returning(entries.c.id)).scalar_one()
        conn.execute(table.update().where(table.c.id == row["id"]).values(salt=salt, log_entry_id=entry_id))


def downgrade() -> None:
    with op.batch_alter_table("usage_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_log_at"))
        batch_op.drop_index("ix_usage_log_holder_id")
        batch_op.drop_constraint(batch_op.f("uq_usage_log_log_entry_id"), type_="unique")
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.drop_column("log_entry_id")
        batch_op.drop_column("salt")
    op.execute("UPDATE usage_log SET seq = id")
    with op.batch_alter_table("usage_log", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_usage_log_holder_hash_seq", ["holder_hash", "seq"])
    op.drop_table("tlog_cosignatures")
    op.drop_table("tlog_checkpoints")
    op.drop_table("tlog_state")
    op.drop_table("tlog_tiles")
    op.drop_table("tlog_entries")
