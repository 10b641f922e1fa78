"""The service catalog: public information per office, edited by the office admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core import audit
from core.catalog.repository import ServiceRepository
from core.catalog.schemas import ServiceCreate, ServiceUpdate
from core.catalog.template import template_services
from core.errors import Conflict, NotFound
from core.models import Office, Service, User
from core.offices.repository import OfficeRepository


def install_template(session: Session, office: Office, *, actor: User | None) -> int:
    """Give a new office its own copy of the template. Idempotent: a service whose code the
    office already has is left as the office edited it."""
    services = ServiceRepository(session)
    added = 0
    for entry in template_services():
        if services.by_code(office.id, entry["code"]) is not None:
            continue
        services.add(Service(office_id=office.id, **entry))
        added += 1
    if added:
        audit.record(session, action="catalog.template_installed", entity_type="office",
                     entity_id=office.id, office_id=office.id, actor=actor,
                     data={"services": added})
    return added


def _public_office(session: Session, slug: str) -> Office:
    office = OfficeRepository(session).by_slug(slug)
    if office is None or not office.is_active:
        raise NotFound("Kantor tidak ditemukan.")
    return office


def list_public(session: Session, office_slug: str) -> list[Service]:
    office = _public_office(session, office_slug)
    return ServiceRepository(session).list_office(office.id, enabled_only=True)


def get_public(session: Session, office_slug: str, code: str) -> Service:
    office = _public_office(session, office_slug)
    service = ServiceRepository(session).by_code(office.id, code)
    if service is None or not service.enabled:
        raise NotFound("Layanan tidak ditemukan.")
    return service


def list_for_admin(session: Session, actor: User) -> list[Service]:
    return ServiceRepository(session).list_office(_office_id(actor), enabled_only=False)


def get_for_admin(session: Session, actor: User, code: str) -> Service:
    service = ServiceRepository(session).by_code(_office_id(actor), code)
    if service is None:
        raise NotFound("Layanan tidak ditemukan.")
    return service


def create(session: Session, actor: User, data: ServiceCreate) -> Service:
    services = ServiceRepository(session)
    office_id = _office_id(actor)
    if services.by_code(office_id, data.code) is not None:
        raise Conflict("Kode layanan sudah dipakai.", field="code")
    service = services.add(Service(office_id=office_id, **data.model_dump()))
    audit.record(session, action="catalog.service_created", entity_type="service",
                 entity_id=service.id, office_id=office_id, actor=actor,
                 data={"after": data.model_dump()})
    return service


def update(session: Session, actor: User, code: str, data: ServiceUpdate) -> Service:
    service = get_for_admin(session, actor, code)
    changes: dict[str, Any] = data.changes()
    before = {key: getattr(service, key) for key in changes}
    for key, value in changes.items():
        setattr(service, key, value)
    session.flush()
    audit.record(session, action="catalog.service_updated", entity_type="service",
                 entity_id=service.id, office_id=service.office_id, actor=actor,
                 data={"code": service.code, "before": before, "after": changes})
    return service


def _office_id(actor: User):
    if actor.office_id is None:
        # Platform admins manage offices, not an office's catalog.
        raise NotFound("Kantor tidak ditemukan.")
    return actor.office_id
