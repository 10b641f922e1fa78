from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.formatting import DEFAULT_ZONE, OFFICE_ZONES
from core.geo import Latitude, Longitude
from core.patching import PatchModel

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

OfficeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                              max_length=120)]
# Couriers are sent to it: when given, a real address, never blank.
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]


def _check_hours(value: dict[str, Any]) -> dict[str, Any]:
    for day, span in value.items():
        if day not in DAYS:
            raise ValueError(f"Hari tidak dikenal: '{day}' (pakai {', '.join(DAYS)}).")
        if (not isinstance(span, list) or len(span) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in span)
                or span[0] >= span[1]):
            raise ValueError("Jam layanan tidak valid: isi jam buka dan tutup (JJ:MM), "
                             "jam buka lebih awal.")
    return value


def _check_rt_rw(value: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rw, rts in value.items():
        if not re.fullmatch(r"\d{1,3}", str(rw)) or not isinstance(rts, list):
            raise ValueError("Tulis nomor RW lalu daftar nomor RT-nya.")
        if not all(re.fullmatch(r"\d{1,3}", str(rt)) for rt in rts):
            raise ValueError("Nomor RT terdiri dari 1-3 angka.")
        out[str(rw).zfill(3)] = sorted({str(rt).zfill(3) for rt in rts})
    return out


class OfficeProfile(BaseModel):
    """What the office's admin keeps up to date; the rest is fixed when the office is made."""

    name: OfficeName
    # May be left out when the office is created and filled in later.
    address: Address = ""
    lat: Latitude
    lng: Longitude
    hours: dict[str, Any] = Field(default_factory=dict)
    rt_rw: dict[str, Any] = Field(default_factory=dict)
    phone: str | None = Field(default=None, max_length=20)
    whatsapp: str | None = Field(default=None, max_length=20)
    # The office's sender on the WhatsApp Cloud API (the phone number id in Meta's WhatsApp
    # Manager, not the number itself); empty: the deployment's default sender.
    whatsapp_phone_number_id: str | None = Field(default=None, pattern=r"^\d{5,32}$")
    email: str | None = Field(default=None, max_length=120)
    # The office's own zone: every time shown or sent to its people is in it (WIB, WITA, WIT).
    timezone: str = Field(default=DEFAULT_ZONE, max_length=40)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in OFFICE_ZONES:
            raise ValueError("Zona waktu tidak dikenal: pilih Asia/Jakarta (WIB), "
                             "Asia/Pontianak (WIB), Asia/Makassar (WITA) atau "
                             "Asia/Jayapura (WIT).")
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_hours(value)

    @field_validator("rt_rw")
    @classmethod
    def _rt_rw(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_rt_rw(value)


class OfficeBase(OfficeProfile):
    kind: str = Field(default="kelurahan", pattern="^(kelurahan|desa)$")
    region_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$",
                             description="Kode wilayah Kemendagri, e.g. 32.76.04.1006")
    district: str = Field(default="", max_length=80)
    city: str = Field(default="", max_length=80)
    province: str = Field(default="", max_length=80)


class OfficeCreate(OfficeBase):
    slug: str = Field(min_length=3, max_length=60, pattern=r"^[a-z0-9-]+$")


class OfficeUpdate(PatchModel, OfficeProfile):
    """Partial edit of the office profile; only phone, WhatsApp (number and sender id) and
    e-mail may be cleared."""


class OfficeOut(BaseModel):
    """What is stored, as it is: the input rules above apply to what is sent, not to rows
    (an office created without an address has an empty one)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    name: str
    kind: str
    region_code: str
    district: str
    city: str
    province: str
    address: str
    lat: float
    lng: float
    hours: dict[str, Any]
    rt_rw: dict[str, Any]
    phone: str | None
    whatsapp: str | None
    email: str | None
    timezone: str
    is_active: bool
