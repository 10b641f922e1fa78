"""Courier API payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.geo import Latitude, Longitude
from core.identity import CourierText
from fleet.statuses import JobStatus


class Position(BaseModel):
    lat: Latitude
    lng: Longitude


class DutyIn(BaseModel):
    on_duty: bool
    lat: Latitude | None = None
    lng: Longitude | None = None


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: uuid.UUID
    office_id: uuid.UUID
    on_duty: bool
    lat: float | None
    lng: float | None
    position_at: datetime | None
    vehicle: str
    plate: str | None


class StopOut(BaseModel):
    """What the courier sees of a stop: the same minimum the providers get, NIK-like numbers
    removed again on the way out."""

    name: CourierText
    phone: str
    address: CourierText
    note: CourierText
    lat: float
    lng: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StopOut:
        coords = data.get("coordinates") or {}
        return cls(name=data.get("name", ""), phone=data.get("phone", ""),
                   address=data.get("address", ""), note=data.get("note", ""),
                   lat=coords.get("lat", 0.0), lng=coords.get("lng", 0.0))


class JobOut(BaseModel):
    id: uuid.UUID
    reference: str
    status: JobStatus
    status_at: datetime
    item: str = "Dokumen"
    price: int
    distance_m: int
    pickup: StopOut
    dropoff: StopOut
    failure_reason: str | None
    proof_urls: list[str]
    # Where the job stands as its delivery has it: a status above, or ``handed_over`` (the
    # PIN was checked; the originals are next) or ``bringing_originals``.
    phase: str
    allowed_next: list[JobStatus]


class OfferOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    status: str
    distance_m: int
    expires_at: datetime
    trip_distance_m: int
    # Before accepting, the courier sees the area, not the recipient's name and phone.
    pickup_address: CourierText
    dropoff_address: CourierText


class StatusReport(BaseModel):
    status: JobStatus
    lat: Latitude | None = None
    lng: Longitude | None = None
    note: str | None = Field(default=None, max_length=500)
    proof_url: str | None = Field(default=None, max_length=500)
