"""The resident's delivery API: ask for a delivery of a finished request, see the quotes
(with the subsidy), choose one, ask again, cancel before pickup."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from core.db import utcnow
from core.deps import ResidentUser, ResidentWork, SessionDep
from core.errors import NotFound
from core.models import HandoverMethod, User
from core.openapi import errors
from core.requests import handover as core_handover
from core.requests.service import get_own
from delivery import flow
from delivery.quotes import service
from delivery.quotes.schemas import CancelIn, ChooseIn, DeliveryOut, DeliveryRequestIn
from delivery.repository import DeliveryRepository

router = APIRouter(prefix="/deliveries", tags=["delivery"])


@router.post("", status_code=201, responses=errors(404))
def request_delivery(data: DeliveryRequestIn, resident: ResidentUser,
                     session: SessionDep) -> DeliveryOut:
    """Choose home delivery for a finished request; quotes are asked at once by a worker.
    The one door that creates a delivery (``POST /requests/{id}/handover`` answers 409
    ``use_deliveries`` for ``delivery``)."""
    core_handover.choose(session, resident, data.request_id, HandoverMethod.delivery,
                         address=data.address, lat=data.lat, lng=data.lng, note=data.note)
    delivery = DeliveryRepository(session).open_for_request(data.request_id)
    if delivery is None:
        raise NotFound("Pengantaran tidak ditemukan.")
    return DeliveryOut.of(delivery, utcnow())


@router.get("/by-request/{request_id}")
def for_request(request_id: uuid.UUID, resident: ResidentUser,
                session: SessionDep) -> DeliveryOut:
    get_own(session, resident, request_id)
    delivery = DeliveryRepository(session).latest_for_request(request_id)
    if delivery is None:
        raise NotFound("Belum ada pengantaran untuk permohonan ini.")
    return DeliveryOut.of(delivery, utcnow())


@router.get("/{delivery_id}")
def get_delivery(delivery_id: uuid.UUID, resident: ResidentUser,
                 session: SessionDep) -> DeliveryOut:
    return DeliveryOut.of(service.own(session, resident, delivery_id), utcnow())


_to_json = DeliveryOut.__pydantic_serializer__.to_json


def _choose(session: Session, resident: User, delivery_id: uuid.UUID, quote_id: uuid.UUID
            ) -> bytes:
    # Serialised here, from the model just built: the answer is not validated a second time
    # (a returned Response skips FastAPI's response_model validation).
    return _to_json(DeliveryOut.of(service.choose(session, resident, delivery_id, quote_id),
                                   utcnow()))


@router.post("/{delivery_id}/choose", response_model=DeliveryOut)
async def choose_quote(delivery_id: uuid.UUID, data: ChooseIn, work: ResidentWork) -> Response:
    # The resident's choice (B2's hot path): sign-in, service and commit in two thread-pool
    # hops (core.deps.Work) instead of four.
    body = await work.run(_choose, delivery_id, data.quote_id)
    return Response(content=body, media_type="application/json")


@router.post("/{delivery_id}/quotes", status_code=202)
def ask_again(delivery_id: uuid.UUID, resident: ResidentUser,
              session: SessionDep) -> DeliveryOut:
    delivery = service.own(session, resident, delivery_id, lock=True)
    service.requote(session, delivery, actor=resident, note="Diminta ulang oleh pemohon")
    return DeliveryOut.of(delivery, utcnow())


@router.post("/{delivery_id}/cancel")
def cancel(delivery_id: uuid.UUID, data: CancelIn, resident: ResidentUser,
           session: SessionDep) -> DeliveryOut:
    delivery = service.own(session, resident, delivery_id, lock=True)
    flow.cancel(session, delivery, actor=resident, reason=data.reason)
    return DeliveryOut.of(delivery, utcnow())
