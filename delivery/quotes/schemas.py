"""What the resident sends and sees. No provider order ids, no courier phone numbers beyond
what the provider shows, no internal errors."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import object_session

from delivery import gateway, positions
from delivery.models import Delivery, DeliveryQuote
from delivery.quotes.service import current_quotes


class DeliveryRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: uuid.UUID
    address: str = Field(min_length=5, max_length=500)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    note: str | None = Field(default=None, max_length=300)


class ChooseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quote_id: uuid.UUID


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="Dibatalkan pemohon", min_length=3, max_length=300)


class QuoteOut(BaseModel):
    id: uuid.UUID
    provider: str
    provider_name: str
    price: int
    subsidy: int
    resident_pays: int
    distance_m: int | None
    pickup_eta_s: int | None
    dropoff_eta_s: int | None
    expires_at: datetime
    expired: bool

    @classmethod
    def of(cls, quote: DeliveryQuote, now: datetime) -> QuoteOut:
        return cls(id=quote.id, provider=quote.provider,
                   provider_name=gateway.display_name(quote.provider), price=quote.price,
                   subsidy=quote.subsidy, resident_pays=quote.resident_pays,
                   distance_m=quote.distance_m, pickup_eta_s=quote.pickup_eta_s,
                   dropoff_eta_s=quote.dropoff_eta_s, expires_at=quote.expires_at,
                   expired=quote.is_expired(now))


class CourierOut(BaseModel):
    name: str | None = None
    plate: str | None = None
    photo_url: str | None = None


class PositionOut(BaseModel):
    lat: float
    lng: float


class DeliveryOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    state: str
    state_changed_at: datetime
    address: str
    distance_m: int | None
    choice_policy: str
    price: int | None
    subsidy: int
    provider: str | None
    provider_name: str | None
    courier: CourierOut | None
    # The provider's tracking page, or this service's own for the office's couriers.
    tracking_url: str | None
    # Where the courier is while on the way (provider reports or the courier app), else null.
    courier_position: PositionOut | None = None
    quotes: list[QuoteOut]
    pin_sent: bool
    originals: list[dict]

    @classmethod
    def of(cls, delivery: Delivery, now: datetime) -> DeliveryOut:
        outbound = [a for a in delivery.attempts if a.leg == "outbound"]
        attempt = outbound[-1] if outbound else None
        courier = attempt.courier if attempt and attempt.courier else None
        session = object_session(delivery)
        where = positions.courier_position(session, delivery) if session is not None else None
        return cls(
            id=delivery.id, request_id=delivery.request_id, state=str(delivery.state),
            state_changed_at=delivery.state_changed_at, address=delivery.address,
            distance_m=delivery.distance_m, choice_policy=delivery.choice_policy,
            price=delivery.price, subsidy=delivery.subsidy,
            provider=attempt.provider if attempt else None,
            provider_name=gateway.display_name(attempt.provider) if attempt else None,
            courier=CourierOut(name=courier.get("name"), plate=courier.get("plate"),
                               photo_url=courier.get("photo_url")) if courier else None,
            tracking_url=positions.tracking_url(delivery),
            courier_position=PositionOut(lat=where[0], lng=where[1]) if where else None,
            quotes=[QuoteOut.of(q, now) for q in current_quotes(delivery)],
            pin_sent=delivery.pin_hash is not None, originals=delivery.originals or [])
