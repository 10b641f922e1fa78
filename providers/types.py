"""Value types of the provider contract (pydantic v2, frozen).

Rules the types encode:

* Money is integer rupiah (``Money(amount=15000)``); providers that answer in strings or
  decimals are converted by the adapter's mapping module, rounding up to the next rupiah.
* Datetimes are timezone-aware UTC; naive datetimes are refused.
* What a provider learns about a delivery is limited to what a courier needs
  (docs/architecture.md rule 8): stop name, phone, address, coordinates, a note, and the
  item described as ``"Dokumen"``.
  There is deliberately no field for the NIK, the letter type, the scans or the office's
  internal ids other than our opaque attempt ``reference``; a NIK typed into a name, address
  or note is replaced by ``[dihapus]`` (``CourierText``), however its digits are separated.
* ``reference`` is OUR attempt reference: stored by the delivery side before the provider
  call, sent as the provider's idempotency key / client reference (``metadata``,
  ``storeOrderId``, ``merchantOrderID``...), and used by ``find_by_reference`` to resolve an
  unknown outcome. Booking the same reference twice must never create a second order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.geo import distance_m
from core.identity import CourierText, scrub_nik
from providers.status import DeliveryStatus

ITEM_DESCRIPTION = "Dokumen"
CURRENCY = "IDR"


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware (UTC)")
    return value.astimezone(UTC)


UTCDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


def courier_text(text: str | None, limit: int = 500) -> str:
    """``text`` fitted for a stop: NIK-like numbers removed first, then cut to ``limit`` (a cut
    first could leave part of a number behind)."""
    return scrub_nik(text)[:limit]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VehicleType(StrEnum):
    motorcycle = "motorcycle"
    car = "car"
    van = "van"
    bicycle = "bicycle"
    walk = "walk"


class Money(_Frozen):
    """An amount in whole rupiah (IDR has no minor unit in practice)."""

    amount: int = Field(ge=0)
    currency: str = Field(default=CURRENCY, min_length=3, max_length=3)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,}".replace(",", ".")


class Coordinates(_Frozen):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)

    def distance_m(self, other: Coordinates) -> int:
        """Great-circle (haversine) distance in metres."""
        return distance_m(self.lat, self.lng, other.lat, other.lng)

    @classmethod
    def parse(cls, text: str) -> Coordinates:
        """``"-6.39,106.84"`` (the CLI's ``LAT,LNG``)."""
        lat, sep, lng = text.partition(",")
        if not sep:
            raise ValueError(f"expected LAT,LNG, got {text!r}")
        return cls(lat=float(lat), lng=float(lng))


class Place(_Frozen):
    """Where: enough to price a trip."""

    coordinates: Coordinates
    address: CourierText = Field(default="", max_length=500)


class Stop(Place):
    """Where and who: what the courier needs at a pickup or drop-off, nothing more."""

    name: CourierText = Field(min_length=1, max_length=120)
    phone: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="E.164")
    note: CourierText = Field(default="", max_length=500)


class Item(_Frozen):
    """The parcel. Always described as "Dokumen", whatever the letter is."""

    description: Literal["Dokumen"] = ITEM_DESCRIPTION
    weight_g: int = Field(default=500, gt=0)
    length_cm: int = Field(default=35, gt=0)
    width_cm: int = Field(default=25, gt=0)
    height_cm: int = Field(default=3, gt=0)
    quantity: int = Field(default=1, ge=1)


class QuoteRequest(_Frozen):
    pickup: Place
    dropoff: Place
    vehicle: VehicleType = VehicleType.motorcycle
    item: Item = Item()
    # None = now. Providers that cannot schedule raise CapabilityNotSupported.
    scheduled_at: UTCDatetime | None = None
    # Our office (tenant) id as an opaque string; external providers ignore it, the
    # in-house provider uses it to pick that office's couriers.
    office_id: str | None = None


class Quote(_Frozen):
    provider: str
    provider_quote_id: str
    price: Money
    expires_at: UTCDatetime
    vehicle: VehicleType = VehicleType.motorcycle
    distance_m: int | None = None
    # Seconds from booking until the courier reaches the pickup / the drop-off (estimates).
    pickup_eta_s: int | None = None
    dropoff_eta_s: int | None = None

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


class BookingRequest(_Frozen):
    reference: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                           description="our attempt reference = idempotency key")
    quote: Quote
    pickup: Stop
    dropoff: Stop
    item: Item = Item()
    require_pin: bool = False
    require_photo_proof: bool = False
    cash_on_delivery: Money | None = None
    office_id: str | None = None


class CourierInfo(_Frozen):
    name: str | None = None
    phone: str | None = None
    plate: str | None = None
    photo_url: str | None = None


class Booking(_Frozen):
    provider: str
    provider_order_id: str
    reference: str
    status: DeliveryStatus
    raw_status: str
    price: Money | None = None
    tracking_url: str | None = None
    courier: CourierInfo | None = None


class TrackingUpdate(_Frozen):
    """One normalized observation of an order: from a webhook, a poll, or a courier's report.

    ``provider_event_id`` is unique per provider and event; store it once (unique constraint)
    and ignore repeats. Where a provider sends no event id, adapters derive a stable one with
    :func:`derive_event_id` from the fields that identify the event, so a re-sent webhook or a
    poll that sees the same state yields the same id.
    """

    provider: str
    provider_order_id: str
    provider_event_id: str
    occurred_at: UTCDatetime
    status: DeliveryStatus
    raw_status: str
    reference: str | None = None
    courier: CourierInfo | None = None
    position: Coordinates | None = None
    tracking_url: str | None = None
    proof_urls: tuple[str, ...] = ()
    failure_reason: str | None = None


def derive_event_id(*parts: object) -> str:
    """A stable event id for providers that send none (Grab, polls)."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return "d-" + hashlib.sha256(joined.encode()).hexdigest()[:32]
