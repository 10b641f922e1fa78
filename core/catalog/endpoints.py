"""Catalog routes: public information per office, and the office admin's editor."""

from __future__ import annotations

from fastapi import APIRouter, status

from core.catalog import service
from core.catalog.schemas import ServiceCreate, ServiceOut, ServiceUpdate
from core.deps import OfficeAdminUser, SessionDep

public_router = APIRouter(prefix="/offices/{slug}/services", tags=["catalog"])
admin_router = APIRouter(prefix="/catalog/services", tags=["catalog"])


@public_router.get("", response_model=list[ServiceOut])
def list_services(slug: str, session: SessionDep) -> list[ServiceOut]:
    """Public: the enabled services of an office, with requirements, legal basis and fees."""
    return [ServiceOut.model_validate(s) for s in service.list_public(session, slug)]


@public_router.get("/{code}", response_model=ServiceOut)
def get_service(slug: str, code: str, session: SessionDep) -> ServiceOut:
    return ServiceOut.model_validate(service.get_public(session, slug, code))


@admin_router.get("", response_model=list[ServiceOut])
def admin_list(actor: OfficeAdminUser, session: SessionDep) -> list[ServiceOut]:
    """All services of the admin's office, disabled ones included."""
    return [ServiceOut.model_validate(s) for s in service.list_for_admin(session, actor)]


@admin_router.post("", status_code=status.HTTP_201_CREATED, response_model=ServiceOut)
def admin_create(data: ServiceCreate, actor: OfficeAdminUser, session: SessionDep) -> ServiceOut:
    return ServiceOut.model_validate(service.create(session, actor, data))


@admin_router.patch("/{code}", response_model=ServiceOut)
def admin_update(code: str, data: ServiceUpdate, actor: OfficeAdminUser,
                 session: SessionDep) -> ServiceOut:
    return ServiceOut.model_validate(service.update(session, actor, code, data))
