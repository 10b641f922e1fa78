"""WhatsApp channel: per-office sender, template values, provider message ids and receipts,
send claims and the SMS fallback on notifications

Revision ID: 0003_whatsapp_notifications
Revises: 0002_attempt_counters
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0003_whatsapp_notifications"
down_revision: str | None = "0002_attempt_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("whatsapp_phone_number_id", sa.String(length=32),
                                      nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_values", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("provider_message_id", sa.String(length=128),
                                      nullable=True))
        batch_op.add_column(sa.Column("claimed_at", core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("receipt_at", core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("fallback_at", core.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_notifications_provider_message_id"),
                              ["provider_message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_provider_message_id"))
        batch_op.drop_column("fallback_at")
        batch_op.drop_column("receipt_at")
        batch_op.drop_column("receipt")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("provider_message_id")
        batch_op.drop_column("template_values")
    with op.batch_alter_table("offices", schema=None) as batch_op:
        batch_op.drop_column("whatsapp_phone_number_id")
