from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Service


class ServiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list_office(self, office_id: uuid.UUID, *, enabled_only: bool) -> list[Service]:
        stmt = (select(Service).where(Service.office_id == office_id)
                .order_by(Service.sort_order, Service.name))
        if enabled_only:
            stmt = stmt.where(Service.enabled.is_(True))
        return list(self.session.scalars(stmt))

    def by_code(self, office_id: uuid.UUID, code: str) -> Service | None:
        return self.session.scalar(
            select(Service).where(Service.office_id == office_id, Service.code == code))

    def add(self, service: Service) -> Service:
        self.session.add(service)
        self.session.flush()
        return service
