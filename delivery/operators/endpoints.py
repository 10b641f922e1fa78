"""Operator monitoring and actions (/api/v1/operator/deliveries...), the dashboard's counts
(/api/v1/operator/summary), provider health, and the office admin's delivery policy
(/api/v1/admin/delivery-policy)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from core.deps import OfficeAdminUser, OperatorUser, SessionDep, SettingsDep
from delivery import policy
from delivery.handover import service as handover
from delivery.models import Delivery
from delivery.models import DeliveryState as D
from delivery.operators import service

router = APIRouter(prefix="/operator", tags=["delivery-operator"])
admin_router = APIRouter(prefix="/admin/delivery-policy", tags=["delivery-admin"])


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    leg: str
    provider: str
    reference: str
    status: str
    provider_order_id: str | None
    provider_status: str | None
    price: int | None
    courier: dict
    tracking_url: str | None
    calls: int
    last_error: str | None
    booked_at: datetime | None
    last_update_at: datetime | None


class OperatorDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    request_id: uuid.UUID
    state: str
    state_changed_at: datetime
    alert: str | None
    alert_at: datetime | None
    recipient_name: str
    recipient_phone: str
    address: str
    distance_m: int | None
    price: int | None
    subsidy: int
    budget_deadline: datetime
    excluded_providers: list[str]
    pin_locked: bool
    pin_verified: bool
    originals: list[dict]
    originals_collected: list[str]
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, d: Delivery) -> OperatorDeliveryOut:
        return cls(id=d.id, request_id=d.request_id, state=str(d.state),
                   state_changed_at=d.state_changed_at, alert=d.alert, alert_at=d.alert_at,
                   recipient_name=d.recipient_name, recipient_phone=d.recipient_phone,
                   address=d.address, distance_m=d.distance_m, price=d.price,
                   subsidy=d.subsidy, budget_deadline=d.budget_deadline,
                   excluded_providers=list(d.excluded_providers or []),
                   pin_locked=d.pin_locked_at is not None,
                   pin_verified=d.pin_verified_at is not None, originals=d.originals or [],
                   originals_collected=list(d.originals_collected or []),
                   attempts=[AttemptOut.model_validate(a) for a in d.attempts])


class DetailOut(OperatorDeliveryOut):
    timeline: list[dict[str, Any]]


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str | None = Field(default=None, max_length=40)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=300)


class OriginalsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    originals_checked: list[str] = Field(default_factory=list, max_length=30)


class EnvelopeOut(BaseModel):
    url: str
    qr_svg: str


@router.get("/deliveries")
def list_deliveries(actor: OperatorUser, session: SessionDep,
                    state: list[D] | None = Query(default=None),
                    limit: int = Query(default=50, ge=1, le=200),
                    offset: int = Query(default=0, ge=0, le=1_000_000)
                    ) -> list[OperatorDeliveryOut]:
    return [OperatorDeliveryOut.of(d) for d in service.listing(
        session, actor, states=state, limit=limit, offset=offset)]


class SummaryOut(BaseModel):
    by_state: dict[str, int]  # every open state, in the order of the state machine
    flagged: int
    finished_last_30_days: dict[str, int]  # every terminal state


@router.get("/summary")
def summary(actor: OperatorUser, session: SessionDep) -> SummaryOut:
    """The office's open deliveries by state, flagged ones, and the last 30 days' endings."""
    return SummaryOut(**service.summary(session, actor))


@router.get("/deliveries/{delivery_id}")
def delivery_detail(delivery_id: uuid.UUID, actor: OperatorUser, session: SessionDep
                    ) -> DetailOut:
    delivery = service.get(session, actor, delivery_id)
    return DetailOut(**OperatorDeliveryOut.of(delivery).model_dump(),
                     timeline=service.timeline(session, delivery))


@router.post("/deliveries/{delivery_id}/retry")
def retry(delivery_id: uuid.UUID, data: RetryIn, actor: OperatorUser,
          session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(service.retry_with_another(session, actor, delivery_id,
                                                             provider=data.provider))


@router.post("/deliveries/{delivery_id}/cancel")
def cancel(delivery_id: uuid.UUID, data: ReasonIn, actor: OperatorUser,
           session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(service.cancel(session, actor, delivery_id, data.reason))


@router.post("/deliveries/{delivery_id}/switch-to-pickup")
def switch_to_pickup(delivery_id: uuid.UUID, actor: OperatorUser,
                     session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(service.cancel(session, actor, delivery_id,
                                                 "Dialihkan ke ambil di kantor"))


@router.post("/deliveries/{delivery_id}/originals-received")
def originals_received(delivery_id: uuid.UUID, data: OriginalsIn, actor: OperatorUser,
                       session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(handover.confirm_originals(session, actor, delivery_id,
                                                             data.originals_checked))


@router.post("/deliveries/{delivery_id}/envelope", status_code=201)
def print_envelope(delivery_id: uuid.UUID, actor: OperatorUser,
                   session: SessionDep) -> EnvelopeOut:
    delivery = service.get(session, actor, delivery_id, lock=True)
    envelope = handover.issue_envelope(session, actor, delivery)
    return EnvelopeOut(url=envelope.url, qr_svg=envelope.qr_svg)


@router.post("/deliveries/{delivery_id}/reset-pin")
def reset_pin(delivery_id: uuid.UUID, actor: OperatorUser,
              session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(service.reset_pin(session, actor, delivery_id))


@router.post("/deliveries/{delivery_id}/close-without-pin")
def close_without_pin(delivery_id: uuid.UUID, data: ReasonIn, actor: OperatorUser,
                      session: SessionDep) -> OperatorDeliveryOut:
    """The one way to finish a handover without the resident's PIN: the operator's recorded
    exception, with its reason on the delivery's timeline."""
    return OperatorDeliveryOut.of(handover.close_without_pin(session, actor, delivery_id,
                                                             data.reason))


@router.post("/deliveries/{delivery_id}/send-for-originals")
def send_for_originals(delivery_id: uuid.UUID, data: ReasonIn, actor: OperatorUser,
                       session: SessionDep) -> OperatorDeliveryOut:
    """A delivered document whose originals nobody collected at the door (a provider's
    courier reported 'delivered' and left): after the handover is recorded (the PIN, or
    ``close-without-pin``), send a courier to bring the originals back to the office. The
    reason is on the delivery's timeline."""
    return OperatorDeliveryOut.of(handover.send_for_originals(session, actor, delivery_id,
                                                              data.reason))


@router.post("/deliveries/{delivery_id}/clear-alert")
def clear_alert(delivery_id: uuid.UUID, actor: OperatorUser,
                session: SessionDep) -> OperatorDeliveryOut:
    return OperatorDeliveryOut.of(service.clear_alert(session, actor, delivery_id))


@router.get("/providers")
def provider_health(actor: OperatorUser, session: SessionDep) -> list[dict[str, Any]]:
    return service.provider_health(session)


@admin_router.get("")
def get_policy(actor: OfficeAdminUser, session: SessionDep,
               settings: SettingsDep) -> dict[str, Any]:
    assert actor.office_id is not None
    return {"effective": policy.for_office(session, settings, actor.office_id).model_dump(
                mode="json"),
            "overrides": policy.overrides(session, actor.office_id),
            "defaults": policy.defaults(settings)}


@admin_router.patch("")
def update_policy(changes: dict[str, Any], actor: OfficeAdminUser, session: SessionDep,
                  settings: SettingsDep) -> dict[str, Any]:
    return policy.update(session, settings, actor, changes).model_dump(mode="json")
