"""The courier handover JSON endpoints (no login: the envelope's QR token is the key) under
/api/v1/handover/{token}/... The server-rendered page the QR opens, ``/antar/{token}``, lives
in ``web/pages/handover.py`` and calls the same service."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.deps import SessionDep, SettingsDep
from core.openapi import errors, multipart_body
from core.requests.uploads import Upload, require_file
from core.storage import storage_from_settings
from delivery.handover import service

api_router = APIRouter(prefix="/handover/{token}", tags=["handover"])


class HandoverView(BaseModel):
    state: str
    office_name: str
    office_address: str
    recipient_name: str
    address: str
    picked_up: bool
    pin_verified: bool
    pin_locked: bool
    pin_attempts_left: int
    originals: list[dict]
    originals_collected: list[str]
    photos: int
    steps: list[dict]


class PickupIn(BaseModel):
    courier_name: str = Field(min_length=2, max_length=120)


class PinIn(BaseModel):
    pin: str = Field(pattern=r"^\s*\d{6}\s*$")


class OriginalsIn(BaseModel):
    checked: list[str] = Field(default_factory=list, max_length=30)


class PhotoOut(BaseModel):
    id: str
    kind: str


def _view(session: Session, token: str) -> HandoverView:
    return HandoverView(**service.view(session, service.by_token(session, token)))


@api_router.get("")
def get_handover(token: str, session: SessionDep) -> HandoverView:
    return _view(session, token)


@api_router.post("/pickup")
def confirm_pickup(token: str, data: PickupIn, session: SessionDep) -> HandoverView:
    service.confirm_pickup(session, token, data.courier_name)
    return _view(session, token)


@api_router.post("/pin", responses=errors(423))
def verify_pin(token: str, data: PinIn, session: SessionDep) -> HandoverView:
    service.verify_pin(session, token, data.pin)
    return _view(session, token)


@api_router.post("/originals")
def collect_originals(token: str, data: OriginalsIn, session: SessionDep) -> HandoverView:
    service.collect_originals(session, token, data.checked)
    return _view(session, token)


@api_router.post("/photo", status_code=201, openapi_extra=multipart_body())
def add_photo(token: str, upload: Upload, session: SessionDep,
              settings: SettingsDep) -> PhotoOut:
    record = service.add_photo(session, storage_from_settings(settings), token,
                               require_file(upload))
    return PhotoOut(id=str(record.id), kind=str(record.kind))
