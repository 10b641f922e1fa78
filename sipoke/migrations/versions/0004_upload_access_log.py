"""Scan views move out of the audit log into an access record of their own

Revision ID: 0004_upload_access_log
Revises: 0003_whatsapp_notifications
Create Date: 2026-12-09 10:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0004_upload_access_log"
down_revision: str | None = "0003_whatsapp_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upload_access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("office_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("http_request_id", sa.String(length=64), nullable=True),
        sa.Column("viewed_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_upload_access_log_actor_id_users")),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"],
                                name=op.f("fk_upload_access_log_office_id_offices")),
        sa.ForeignKeyConstraint(["request_id"], ["document_requests.id"],
                                name=op.f("fk_upload_access_log_request_id_document_requests")),
        sa.ForeignKeyConstraint(["upload_id"], ["request_uploads.id"],
                                name=op.f("fk_upload_access_log_upload_id_request_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_access_log")),
    )
    with op.batch_alter_table("upload_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_access_log_office_id"), ["office_id"],
                              unique=False)
        batch_op.create_index("ix_upload_access_log_request", ["request_id", "viewed_at"],
                              unique=False)
    # Views recorded before this revision move from the request's story to the access record.
    bind = op.get_bind()
    audit = sa.table("audit_events", sa.column("id", sa.BigInteger()),
                     sa.column("office_id", sa.Uuid()), sa.column("actor_id", sa.Uuid()),
                     sa.column("actor_role", sa.String()), sa.column("action", sa.String()),
                     sa.column("entity_id", sa.String()), sa.column("data", sa.JSON()),
                     sa.column("request_id", sa.String()),
                     sa.column("created_at", core.db.UTCDateTime()))
    access = sa.table("upload_access_log", sa.column("office_id", sa.Uuid()),
                      sa.column("request_id", sa.Uuid()), sa.column("upload_id", sa.Uuid()),
                      sa.column("actor_id", sa.Uuid()), sa.column("actor_role", sa.String()),
                      sa.column("http_request_id", sa.String()),
                      sa.column("viewed_at", core.db.UTCDateTime()))
    viewed = audit.c.action == "request.upload_viewed"
    rows = []
    for row in bind.execute(sa.select(audit).where(viewed)):
        upload_id = (row.data or {}).get("upload_id")
        if upload_id and row.office_id and row.actor_id:
            rows.append({"office_id": row.office_id, "request_id": uuid.UUID(row.entity_id),
                         "upload_id": uuid.UUID(upload_id), "actor_id": row.actor_id,
                         "actor_role": row.actor_role or "operator",
                         "http_request_id": row.request_id, "viewed_at": row.created_at})
    if rows:
        op.bulk_insert(access, rows)
    bind.execute(sa.delete(audit).where(viewed))


def downgrade() -> None:
    with op.batch_alter_table("upload_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_upload_access_log_request")
        batch_op.drop_index(batch_op.f("ix_upload_access_log_office_id"))
    op.drop_table("upload_access_log")
