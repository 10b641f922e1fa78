"""Operator work on requests: the queue, assignment, revision, processing, finishing (with
the signed scan and its verification code), rejection and the counter handover.

Operators and office admins act only on their own office's requests (``get_visible``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from core import audit, limits
from core.db import utcnow
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.formatting import plural
from core.models import DocumentRequest, HandoverMethod, RequestUpload, UploadKind, User
from core.models import RequestState as S
from core.notifications import notify_user
from core.requests.repository import RequestRepository
from core.requests.service import OPERATORS, get_visible, new_code
from core.requests.states import TERMINAL, transition
from core.requests.uploads import PDF_ONLY, check_content, display_name
from core.security import constant_time_equals
from core.settings import get_settings
from core.storage import IncomingFile, Storage, keep_in_transaction

QUEUE_STATES = tuple(s for s in S if s not in TERMINAL and s != S.draft)


def _values(request: DocumentRequest) -> dict[str, str]:
    return {"service": request.service.name, "reference": request.reference}


def queue(session: Session, actor: User, *, states: Iterable[S] | None, mine: bool,
          limit: int, offset: int) -> list[DocumentRequest]:
    if actor.office_id is None or actor.role not in OPERATORS:
        raise NotFound("Kantor tidak ditemukan.")
    return RequestRepository(session).queue(
        actor.office_id, states=states or QUEUE_STATES,
        assigned_to=actor.id if mine else None, limit=limit, offset=offset)


def queue_counts(session: Session, actor: User, states: Iterable[S]) -> dict[str, int]:
    """How many of the actor's office's requests wait in each of ``states``."""
    if actor.office_id is None or actor.role not in OPERATORS:
        raise NotFound("Kantor tidak ditemukan.")
    return RequestRepository(session).count_by_state(actor.office_id, states)


def _get(session: Session, actor: User, request_id: uuid.UUID) -> DocumentRequest:
    if actor.role not in OPERATORS:
        # Routers check roles too; this keeps every other caller (pages, CLI) honest.
        raise NotFound("Permohonan tidak ditemukan.")
    request = get_visible(session, actor, request_id, lock=True)
    if request.state == S.draft:
        # A draft is still the resident's private work.
        raise NotFound("Permohonan tidak ditemukan.")
    return request


def assign_to_self(session: Session, actor: User, request_id: uuid.UUID) -> DocumentRequest:
    request = _get(session, actor, request_id)
    if request.state in TERMINAL or request.state == S.cover_letter_pending:
        raise Conflict("Permohonan ini tidak dapat ditugaskan.", state=str(request.state))
    previous = request.assigned_to_id
    request.assigned_to_id = actor.id
    audit.record(session, action="request.assigned", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=actor,
                 data={"from": str(previous) if previous else None, "to": str(actor.id)})
    if request.state == S.submitted:
        transition(session, request, S.verifying, actor=actor, note="Mulai diverifikasi")
        notify_user(session, request.resident, "request_verifying", **_values(request))
    return request


def request_revision(session: Session, actor: User, request_id: uuid.UUID,
                     note: str) -> DocumentRequest:
    request = _get(session, actor, request_id)
    transition(session, request, S.needs_revision, actor=actor, note=note)
    request.revision_note = note
    notify_user(session, request.resident, "request_needs_revision", note=note,
                **_values(request))
    return request


def start_processing(session: Session, actor: User, request_id: uuid.UUID) -> DocumentRequest:
    request = _get(session, actor, request_id)
    transition(session, request, S.processing, actor=actor)
    notify_user(session, request.resident, "request_processing",
                days=plural(request.service.processing_days, "working_day"),
                **_values(request))
    return request


def reject(session: Session, actor: User, request_id: uuid.UUID,
           reason: str) -> DocumentRequest:
    request = _get(session, actor, request_id)
    transition(session, request, S.rejected, actor=actor, note=reason)
    request.rejection_reason = reason
    notify_user(session, request.resident, "request_rejected", reason=reason,
                **_values(request))
    return request


def _new_verification_code(session: Session) -> str:
    repo = RequestRepository(session)
    while True:
        code = new_code(12)
        if repo.by_verification_code(code) is None:
            return code


def finish(session: Session, storage: Storage, actor: User, request_id: uuid.UUID,
           incoming: IncomingFile) -> DocumentRequest:
    """Attach the signed document's scan (PDF); the document gets its verification code."""
    request = _get(session, actor, request_id)
    transition(session, request, S.finished, actor=actor)  # checks the state first
    name = display_name(incoming.filename)
    content_type = check_content(incoming, PDF_ONLY)
    key = keep_in_transaction(session, storage, incoming)
    RequestRepository(session).add_upload(RequestUpload(
        request_id=request.id, office_id=request.office_id, kind=UploadKind.signed_document,
        storage_key=key, content_type=content_type, size=incoming.size,
        sha256=incoming.sha256, display_name=name, uploaded_by_id=actor.id,
    ))
    session.expire(request, ["uploads"])
    request.verification_code = _new_verification_code(session)
    audit.record(session, action="request.document_signed", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=actor,
                 data={"sha256": incoming.sha256})
    notify_user(session, request.resident, "request_finished", code=request.verification_code,
                **_values(request))
    return request


def revoke_document(session: Session, actor: User, request_id: uuid.UUID,
                    reason: str) -> DocumentRequest:
    """Mark an issued document invalid (a mistake, a replacement); the public page says so."""
    request = _get(session, actor, request_id)
    if request.verification_code is None:
        raise Conflict("Dokumen belum diterbitkan.")
    if request.revoked_at is None:
        request.revoked_at = utcnow()
        audit.record(session, action="request.document_revoked",
                     entity_type="document_request", entity_id=request.id,
                     office_id=request.office_id, actor=actor, note=reason)
    return request


def complete_with_originals(session: Session, request: DocumentRequest,
                            originals_checked: list[str], *, actor: User | None,
                            note: str | None = None) -> DocumentRequest:
    """Move a handed-over request (picked up or delivered) to completed once every original
    the service lists has been checked. Shared by the counter and the delivery side."""
    required = [r["code"] for r in request.service.originals]
    missing = [code for code in required if code not in set(originals_checked)]
    if missing:
        error = ValidationFailed("originals_checked", "Semua dokumen asli harus diperiksa.")
        error.details["missing"] = missing
        raise error
    request.originals_checked = list(required)
    transition(session, request, S.completed, actor=actor, note=note,
               data={"originals_checked": request.originals_checked})
    notify_user(session, request.resident, "request_completed", **_values(request))
    return request


class PickupCodeLocked(AppError):
    status_code = 423
    code = "pickup_code_locked"
    message = ("Kode ambil salah terlalu sering dan dikunci. Periksa KTP pemohon, lalu kirim "
               "kode baru ke HP pemohon (tombol \"Kirim kode ambil baru ke pemohon\").")


PICKUP_CODE_WINDOW_S = 30 * 24 * 3600


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _pickup_code_key(request: DocumentRequest) -> str:
    return f"pickup-code:{request.id}"


def record_counter_handover(session: Session, actor: User, request_id: uuid.UUID, *,
                            pickup_code: str, originals_checked: list[str]) -> DocumentRequest:
    """Hand a finished document over at the counter against the resident's pickup code.

    Each try takes a slot of the request's attempt limit before the code is compared, so
    parallel guesses get exactly ``pickup_code_max_attempts`` comparisons; then the code is
    locked until an operator sends the resident a new one (``reset_pickup_code``)."""
    request = _get(session, actor, request_id)
    if request.state != S.handover_pending or request.handover_method != HandoverMethod.pickup:
        raise Conflict("Dokumen ini tidak menunggu pengambilan di kantor.",
                       state=str(request.state))
    if not request.pickup_code:
        raise ValidationFailed("pickup_code", "Kode ambil tidak cocok.")
    max_tries = get_settings().pickup_code_max_attempts
    tries = limits.take(session, _pickup_code_key(request), limit=max_tries,
                        window_seconds=PICKUP_CODE_WINDOW_S)
    if tries is None:
        raise PickupCodeLocked()
    if not constant_time_equals(pickup_code.strip(), request.pickup_code):
        audit.record(session, action="request.pickup_code_wrong", entity_type="request",
                     entity_id=request.id, office_id=request.office_id, actor=actor,
                     data={"tries": tries})
        if tries >= max_tries:
            raise PickupCodeLocked().keeping_changes()
        error = ValidationFailed("pickup_code", "Kode ambil tidak cocok.")
        error.details["attempts_left"] = max_tries - tries
        raise error.keeping_changes()
    # Check the originals before anything changes, so a refusal leaves the state untouched.
    required = {r["code"] for r in request.service.originals}
    if not required <= set(originals_checked):
        error = ValidationFailed("originals_checked", "Semua dokumen asli harus diperiksa.")
        error.details["missing"] = sorted(required - set(originals_checked))
        raise error
    transition(session, request, S.picked_up, actor=actor, note="Diambil di loket")
    request.handed_over_at = utcnow()
    request.handed_over_by_id = actor.id
    request.pickup_code = None  # used once
    return complete_with_originals(session, request, originals_checked, actor=actor,
                                   note="Dokumen asli diperiksa di loket")


def reset_pickup_code(session: Session, actor: User, request_id: uuid.UUID) -> DocumentRequest:
    """After a lock, the operator has checked the person at the counter: a new code goes to
    the resident's phone and the tries start again (like the delivery PIN's reset)."""
    request = _get(session, actor, request_id)
    if request.state != S.handover_pending or request.handover_method != HandoverMethod.pickup:
        raise Conflict("Dokumen ini tidak menunggu pengambilan di kantor.",
                       state=str(request.state))
    request.pickup_code = new_pickup_code()
    limits.clear(session, _pickup_code_key(request))
    audit.record(session, action="request.pickup_code_reset", entity_type="request",
                 entity_id=request.id, office_id=request.office_id, actor=actor)
    notify_user(session, request.resident, "request_pickup_code_replaced",
                pickup_code=request.pickup_code, office=request.office.name, **_values(request))
    return request
