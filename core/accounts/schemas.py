from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.identity import PROVINCE_CODES, IdentityError, normalize_phone, validate_nik
from core.models.accounts import Role

RT_RW = r"^\d{1,3}$"
# An Indonesian mobile number as people write it (0812..., 62812..., +62812...): what the
# schema promises is accepted. The validator is more lenient (spaces, hyphens, landlines), so
# the pattern is documented, not enforced.
MOBILE_PHONE = r"^(?:\+62|62|0)8[1-35-9][0-9]{7,10}$"
PHONE_DOC = {"pattern": MOBILE_PHONE}
# A NIK of the shape validate_nik checks (province, regency, district, a birth day that
# exists in every month, serial), written as 16 digits; documented, since separators are
# accepted too.
NIK_SHAPE = (r"^(?:" + "|".join(str(code) for code in sorted(PROVINCE_CODES)) + r")"
             r"(?:0[1-9]|[1-9]\d){2}(?:0[1-9]|1\d|2[0-8]|4[1-9]|5\d|6[0-8])(?:0[1-9]|1[0-2])\d{2}"
             r"(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])$")
# Office slugs are made with this pattern (core.offices.schemas.OfficeCreate).
OFFICE_SLUG = r"^[a-z0-9-]{3,60}$"


def _pad3(value: str) -> str:
    return value.zfill(3)


class PhoneIn(BaseModel):
    phone: str = Field(min_length=6, max_length=24, examples=["081234567890"],
                       description="Indonesian number: 08..., 628... or +628...",
                       json_schema_extra=PHONE_DOC)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from None


class ResidentRegistration(PhoneIn):
    office: str = Field(min_length=3, max_length=60, pattern=OFFICE_SLUG,
                        description="Office slug, e.g. mekarjaya")
    nik: str = Field(min_length=16, max_length=24, examples=["3276015708900001"],
                     json_schema_extra={"pattern": NIK_SHAPE})
    full_name: str = Field(min_length=2, max_length=120)
    address: str = Field(min_length=5, max_length=500)
    rt: str = Field(pattern=RT_RW)
    rw: str = Field(pattern=RT_RW)
    lat: float | None = Field(default=None, ge=-11.5, le=6.5)
    lng: float | None = Field(default=None, ge=94.0, le=141.5)

    @field_validator("nik")
    @classmethod
    def _nik(cls, value: str) -> str:
        try:
            return validate_nik(value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("full_name", "address")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("tidak boleh kosong")
        return value

    @field_validator("rt", "rw")
    @classmethod
    def _pad(cls, value: str) -> str:
        return _pad3(value)


class OtpVerify(PhoneIn):
    code: str = Field(pattern=r"^\d{6}$")


class PasswordLogin(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class StaffCreate(BaseModel):
    role: Role
    full_name: str = Field(min_length=2, max_length=120)
    username: str = Field(min_length=3, max_length=60, pattern=r"^[a-z0-9._-]+$")
    password: str = Field(min_length=8, max_length=200,
                          description="At least SIPOKE_PASSWORD_MIN_LENGTH characters (10)")
    phone: str | None = Field(default=None, max_length=24, json_schema_extra=PHONE_DOC)
    rw: str | None = Field(default=None, pattern=RT_RW)
    office: str | None = Field(default=None, pattern=OFFICE_SLUG,
                               description="Office slug (platform admins only)")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_phone(value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("rw")
    @classmethod
    def _pad(cls, value: str | None) -> str | None:
        return _pad3(value) if value else None


class OfficeBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    name: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role: Role
    full_name: str
    phone: str | None
    username: str | None
    office: OfficeBrief | None
    nik_masked: str | None
    address: str | None
    rt: str | None
    rw: str | None
    lat: float | None
    lng: float | None
    is_active: bool
    created_at: datetime


class OtpSent(BaseModel):
    message: str
    expires_in: int


class TokenOut(BaseModel):
    # None when the session went into an HttpOnly cookie instead.
    access_token: str | None
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    csrf_token: str
    user: UserOut
