from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UUIDPk, utcnow
from core.models.accounts import User
from core.models.catalog import Service
from core.models.offices import Office


class RequestState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    cover_letter_pending = "cover_letter_pending"
    verifying = "verifying"
    needs_revision = "needs_revision"
    processing = "processing"
    finished = "finished"
    handover_pending = "handover_pending"
    picked_up = "picked_up"
    delivered = "delivered"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"


class HandoverMethod(StrEnum):
    pickup = "pickup"
    delivery = "delivery"
    digital = "digital"


class DocumentRequest(UUIDPk, Timestamped, Base):
    """A resident's request for one service, from draft to the handed-over document.

    ``state`` changes only through ``core.requests.states.transition``, which audits it.
    """

    __tablename__ = "document_requests"
    __table_args__ = (Index("ix_document_requests_office_state", "office_id", "state"),)

    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    state: Mapped[RequestState] = mapped_column(String(30), default=RequestState.draft)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The resident's RW when the request was made: the RW admin who decides the cover letter.
    rw: Mapped[str | None] = mapped_column(String(3), index=True)
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revision_note: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # Verifiable document: the signed scan's public code; revoked documents show as invalid.
    verification_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    revoked_at: Mapped[datetime | None]
    # Handover
    handover_method: Mapped[HandoverMethod | None] = mapped_column(String(10))
    pickup_code: Mapped[str | None] = mapped_column(String(8))
    originals_checked: Mapped[list[Any]] = mapped_column(default=list)
    handed_over_at: Mapped[datetime | None]
    handed_over_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    office: Mapped[Office] = relationship(lazy="joined")
    service: Mapped[Service] = relationship(lazy="joined")
    resident: Mapped[User] = relationship(foreign_keys=[resident_id], lazy="joined")
    cover_letter: Mapped[CoverLetter | None] = relationship(
        back_populates="request", lazy="selectin", uselist=False)
    uploads: Mapped[list[RequestUpload]] = relationship(
        lazy="selectin", order_by="RequestUpload.created_at")


class CoverLetterStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class CoverLetter(UUIDPk, Timestamped, Base):
    """The RT/RW surat pengantar for a request, decided by the admin of the resident's RW."""

    __tablename__ = "cover_letters"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_requests.id"),
                                                  unique=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    rw: Mapped[str] = mapped_column(String(3))
    rt: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[CoverLetterStatus] = mapped_column(String(10),
                                                      default=CoverLetterStatus.pending)
    number: Mapped[str | None] = mapped_column(String(60))
    issued_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    request: Mapped[DocumentRequest] = relationship(back_populates="cover_letter")


class UploadKind(StrEnum):
    requirement = "requirement"  # a scan or photo the resident sends
    signed_document = "signed_document"  # the finished, signed document's scan (PDF)


class RequestUpload(UUIDPk, Base):
    """A stored file of a request. ``storage_key`` is a random name, never the client's;
    it is cleared when retention purges the file (the row and the audit log stay)."""

    __tablename__ = "request_uploads"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_requests.id"),
                                                  index=True)
    office_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offices.id"), index=True)
    kind: Mapped[UploadKind] = mapped_column(String(20))
    requirement_code: Mapped[str | None] = mapped_column(String(60))
    storage_key: Mapped[str | None] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(120))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A newer upload for the same requirement replaces this one (kept for the operator).
    replaced_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
