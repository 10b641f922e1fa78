from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.catalog.service import install_template
from core.errors import Conflict, NotFound
from core.models import Office, Role, User
from core.offices.repository import OfficeRepository
from core.offices.schemas import OfficeCreate, OfficeUpdate


def get_public(session: Session, slug: str) -> Office:
    office = OfficeRepository(session).by_slug(slug)
    if office is None or not office.is_active:
        raise NotFound("Kantor tidak ditemukan.")
    return office


def list_public(session: Session) -> list[Office]:
    return OfficeRepository(session).list()


def create(session: Session, data: OfficeCreate, *, actor: User | None) -> Office:
    offices = OfficeRepository(session)
    if offices.by_slug(data.slug) is not None:
        raise Conflict("Kode kantor sudah dipakai.", field="slug")
    office = offices.add(Office(**data.model_dump()))
    audit.record(session, action="office.created", entity_type="office", entity_id=office.id,
                 office_id=office.id, actor=actor)
    # Every office starts with its own copy of the service catalog template.
    install_template(session, office, actor=actor)
    return office


def update(session: Session, slug: str, data: OfficeUpdate, *, actor: User) -> Office:
    office = OfficeRepository(session).by_slug(slug)
    if office is None or (actor.role != Role.platform_admin and office.id != actor.office_id):
        raise NotFound("Kantor tidak ditemukan.")
    changes = data.changes()
    before = {k: getattr(office, k) for k in changes}
    for key, value in changes.items():
        setattr(office, key, value)
    audit.record(session, action="office.updated", entity_type="office", entity_id=office.id,
                 office_id=office.id, actor=actor, data={"before": before, "after": changes})
    return office
