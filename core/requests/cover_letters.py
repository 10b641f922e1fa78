"""RT/RW cover letters (surat pengantar): decided by the admin of the resident's RW.

An RW admin sees and decides only the cover letters of their own RW in their own office;
anything else answers 404.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import CoverLetter, CoverLetterStatus, Role, User
from core.models import RequestState as S
from core.notifications import notify_user
from core.requests.repository import RequestRepository
from core.requests.states import transition


def _today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def list_for_rw(session: Session, actor: User, *, status: CoverLetterStatus | None,
                limit: int, offset: int) -> list[CoverLetter]:
    if actor.office_id is None or not actor.rw or actor.role != Role.rw_admin:
        return []
    return RequestRepository(session).cover_letters_for_rw(
        actor.office_id, actor.rw, status, limit=limit, offset=offset)


def _pending(session: Session, actor: User, request_id: uuid.UUID) -> CoverLetter:
    request = RequestRepository(session).get(request_id, lock=True)
    letter = request.cover_letter if request else None
    if request is None or letter is None or actor.role != Role.rw_admin \
            or request.office_id != actor.office_id or letter.rw != actor.rw:
        raise NotFound("Permohonan tidak ditemukan.")
    if letter.status != CoverLetterStatus.pending:
        raise Conflict("Surat pengantar ini sudah diputuskan.", status=str(letter.status))
    return letter


def approve(session: Session, actor: User, request_id: uuid.UUID, *, number: str,
            issued_on: date | None) -> CoverLetter:
    letter = _pending(session, actor, request_id)
    request = letter.request
    today = _today(request.office.timezone)
    issued_on = issued_on or today
    if issued_on > today:
        raise ValidationFailed("issued_on", "Tanggal surat tidak boleh di masa depan.")
    transition(session, request, S.submitted, actor=actor,
               note=f"Surat pengantar RW No. {number}",
               data={"cover_letter_number": number, "issued_on": issued_on.isoformat()})
    letter.status = CoverLetterStatus.approved
    letter.number = number
    letter.issued_on = issued_on
    letter.decided_by_id = actor.id
    letter.decided_at = utcnow()
    notify_user(session, request.resident, "request_cover_letter_approved", number=number,
                service=request.service.name, reference=request.reference)
    return letter


def reject(session: Session, actor: User, request_id: uuid.UUID, *, reason: str
           ) -> CoverLetter:
    letter = _pending(session, actor, request_id)
    request = letter.request
    transition(session, request, S.rejected, actor=actor,
               note=f"Surat pengantar ditolak: {reason}")
    request.rejection_reason = reason
    letter.status = CoverLetterStatus.rejected
    letter.reason = reason
    letter.decided_by_id = actor.id
    letter.decided_at = utcnow()
    notify_user(session, request.resident, "request_cover_letter_rejected", reason=reason,
                service=request.service.name, reference=request.reference)
    return letter
