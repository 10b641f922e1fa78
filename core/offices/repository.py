from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Office


class OfficeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_slug(self, slug: str) -> Office | None:
        return self.session.scalar(select(Office).where(Office.slug == slug))

    def list(self, *, active_only: bool = True) -> list[Office]:
        stmt = select(Office).order_by(Office.name)
        if active_only:
            stmt = stmt.where(Office.is_active.is_(True))
        return list(self.session.scalars(stmt))

    def add(self, office: Office) -> Office:
        self.session.add(office)
        self.session.flush()
        return office
