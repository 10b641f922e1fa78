from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.patching import PatchModel

CODE = r"^[a-z0-9][a-z0-9_-]{1,58}$"


class Requirement(BaseModel):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=2, max_length=160)
    upload: bool = Field(default=True, description="A scan or photo is uploaded online")
    original: bool = Field(default=False, description="The original is shown at handover")


# What the resident types into a form field: a line of text, a longer text, a date picked
# from a calendar (stored as YYYY-MM-DD) or a whole number.
FIELD_TYPES = ("text", "long_text", "date", "number")
FieldType = Literal["text", "long_text", "date", "number"]


class FormField(BaseModel):
    name: str = Field(pattern=CODE)
    label: str = Field(min_length=2, max_length=160)
    required: bool = True
    max_length: int = Field(default=200, ge=1, le=2000)
    type: FieldType = Field(default="text", description="text, long_text, date (YYYY-MM-DD) "
                                                        "or number")


DUPLICATES = {"code": "Ada dua persyaratan dengan kode yang sama.",
              "name": "Ada dua isian formulir dengan nama yang sama."}


def _unique(items: list[Requirement] | list[FormField] | None, attr: str) -> None:
    if items is None:
        return
    keys = [getattr(i, attr) for i in items]
    if len(keys) != len(set(keys)):
        raise ValueError(DUPLICATES[attr])


class ServiceFields(BaseModel):
    name: str = Field(min_length=3, max_length=160)
    description: str = Field(default="", max_length=4000)
    legal_basis: list[str] = Field(default_factory=list, max_length=20)
    requirements: list[Requirement] = Field(default_factory=list, max_length=30)
    fields: list[FormField] = Field(default_factory=list, max_length=30)
    flow_steps: list[str] = Field(default_factory=list, max_length=20)
    processing_days: int = Field(default=1, ge=0, le=365)
    fee: int = Field(default=0, ge=0, le=100_000_000, description="Integer rupiah")
    online: bool = True
    deliverable: bool = True
    needs_cover_letter: bool = False
    digital_copy: bool = False
    counter_note: str = Field(default="", max_length=1000)
    enabled: bool = True
    sort_order: int = Field(default=100, ge=0, le=10_000)

    @model_validator(mode="after")
    def _check(self) -> ServiceFields:
        _unique(self.requirements, "code")
        _unique(self.fields, "name")
        return self


class ServiceCreate(ServiceFields):
    code: str = Field(pattern=CODE)


class ServiceUpdate(PatchModel, ServiceFields):
    """Partial edit by the office admin; every change is audited with before/after. No field
    of a service may be null."""


class ServiceOut(ServiceCreate):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID


class ServiceBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    processing_days: int
    fee: int
    online: bool
    deliverable: bool
    needs_cover_letter: bool
