from __future__ import annotations

from fastapi import APIRouter, status

from core.deps import AdminUser, PlatformAdminUser, SessionDep
from core.offices import service
from core.offices.schemas import OfficeCreate, OfficeOut, OfficeUpdate

router = APIRouter(prefix="/offices", tags=["offices"])


@router.get("", response_model=list[OfficeOut])
def list_offices(session: SessionDep) -> list[OfficeOut]:
    """Public: the offices residents can register with."""
    return [OfficeOut.model_validate(o) for o in service.list_public(session)]


@router.get("/{slug}", response_model=OfficeOut)
def get_office(slug: str, session: SessionDep) -> OfficeOut:
    return OfficeOut.model_validate(service.get_public(session, slug))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OfficeOut)
def create_office(data: OfficeCreate, actor: PlatformAdminUser, session: SessionDep) -> OfficeOut:
    return OfficeOut.model_validate(service.create(session, data, actor=actor))


@router.patch("/{slug}", response_model=OfficeOut)
def update_office(slug: str, data: OfficeUpdate, actor: AdminUser,
                  session: SessionDep) -> OfficeOut:
    return OfficeOut.model_validate(service.update(session, slug, data, actor=actor))
