from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_hours(value: dict[str, Any]) -> dict[str, Any]:
    for day, span in value.items():
        if day not in DAYS:
            raise ValueError(f"unknown day '{day}' (use {', '.join(DAYS)})")
        if (not isinstance(span, list) or len(span) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in span)
                or span[0] >= span[1]):
            raise ValueError(f"hours for '{day}' must be [\"HH:MM\", \"HH:MM\"], opening first")
    return value


def _check_rt_rw(value: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rw, rts in value.items():
        if not re.fullmatch(r"\d{1,3}", str(rw)) or not isinstance(rts, list):
            raise ValueError("rt_rw maps an RW number to a list of RT numbers")
        if not all(re.fullmatch(r"\d{1,3}", str(rt)) for rt in rts):
            raise ValueError(f"RT numbers of RW {rw} must be 1-3 digits")
        out[str(rw).zfill(3)] = sorted({str(rt).zfill(3) for rt in rts})
    return out


class OfficeBase(BaseModel):
    name: str = Field(min_length=3, max_length=120)
    kind: str = Field(default="kelurahan", pattern="^(kelurahan|desa)$")
    region_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$",
                             description="Kode wilayah Kemendagri, e.g. 32.76.04.1006")
    district: str = Field(default="", max_length=80)
    city: str = Field(default="", max_length=80)
    province: str = Field(default="", max_length=80)
    address: str = Field(default="", max_length=500)
    lat: float = Field(ge=-11.5, le=6.5)
    lng: float = Field(ge=94.0, le=141.5)
    hours: dict[str, Any] = Field(default_factory=dict)
    rt_rw: dict[str, Any] = Field(default_factory=dict)
    phone: str | None = Field(default=None, max_length=20)
    whatsapp: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=120)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_hours(value)

    @field_validator("rt_rw")
    @classmethod
    def _rt_rw(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_rt_rw(value)


class OfficeCreate(OfficeBase):
    slug: str = Field(min_length=3, max_length=60, pattern=r"^[a-z0-9-]+$")


class OfficeUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=3, max_length=120)
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-11.5, le=6.5)
    lng: float | None = Field(default=None, ge=94.0, le=141.5)
    hours: dict[str, Any] | None = None
    rt_rw: dict[str, Any] | None = None
    phone: str | None = Field(default=None, max_length=20)
    whatsapp: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=120)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_hours(value)

    @field_validator("rt_rw")
    @classmethod
    def _rt_rw(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_rt_rw(value)


class OfficeOut(OfficeBase):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    is_active: bool
