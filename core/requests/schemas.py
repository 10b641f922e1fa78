from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.catalog.schemas import ServiceBrief
from core.models import CoverLetterStatus, HandoverMethod, RequestState, UploadKind


def _clean(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("tidak boleh kosong")
    return value


class RequestCreate(BaseModel):
    service: str = Field(min_length=1, max_length=60, description="Service code")
    fields: dict[str, str] = Field(default_factory=dict, max_length=30)


class RequestFieldsUpdate(BaseModel):
    fields: dict[str, str] = Field(max_length=30)


class NoteIn(BaseModel):
    note: str = Field(min_length=3, max_length=1000)

    @field_validator("note")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _clean(value)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _clean(value)


class CoverLetterApprove(BaseModel):
    number: str = Field(min_length=1, max_length=60, examples=["012/RW05/XI/2026"])
    issued_on: date | None = Field(default=None, description="Default: today (WIB)")

    @field_validator("number")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _clean(value)


class CounterHandoverIn(BaseModel):
    pickup_code: str = Field(min_length=4, max_length=12)
    originals_checked: list[str] = Field(default_factory=list, max_length=30,
                                         description="Codes of the originals shown")


class HandoverChoice(BaseModel):
    """Pickup at the office or the digital copy. Home delivery has one door of its own,
    ``POST /api/v1/deliveries`` (with the address), which answers the delivery."""

    method: HandoverMethod


class UploadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: UploadKind
    requirement_code: str | None
    content_type: str
    size: int
    display_name: str
    created_at: datetime
    replaced_at: datetime | None
    purged_at: datetime | None


class CoverLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    status: CoverLetterStatus
    rw: str
    rt: str | None
    number: str | None
    issued_on: date | None
    reason: str | None
    decided_at: datetime | None


class ResidentBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    full_name: str
    phone: str | None
    rt: str | None
    rw: str | None
    nik_masked: str | None


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    reference: str
    state: RequestState
    service: ServiceBrief
    resident: ResidentBrief
    fields: dict[str, Any]
    rw: str | None
    assigned_to_id: uuid.UUID | None
    revision_note: str | None
    rejection_reason: str | None
    created_at: datetime
    state_changed_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    completed_at: datetime | None
    verification_code: str | None
    handover_method: HandoverMethod | None
    cover_letter: CoverLetterOut | None
    uploads: list[UploadOut]


class CoverLetterItem(CoverLetterOut):
    request: RequestOut


class HistoryItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    created_at: datetime
    action: str
    actor_role: str | None
    from_state: str | None
    to_state: str | None
    note: str | None


class PickupInfo(BaseModel):
    reference: str
    pickup_code: str
    qr_svg_url: str
    office_name: str
    office_address: str
    office_hours: dict[str, Any]
    originals: list[str]


class VerificationOut(BaseModel):
    code: str
    valid: bool
    office: str
    service: str
    resident: str
    issued_at: datetime | None
    status_text: str
