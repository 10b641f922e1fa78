"""The audit log: every state change and every sensitive edit writes one row."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.logging import current_request_id
from core.models import AuditEvent, User


def record(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: Any,
    office_id: uuid.UUID | None,
    actor: User | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        office_id=office_id,
        actor_id=actor.id if actor else None,
        actor_role=str(actor.role) if actor else "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
        request_id=current_request_id(),
    )
    session.add(event)
    return event


def history(session: Session, *, entity_type: str, entity_id: Any) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))
