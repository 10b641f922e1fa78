"""Document requests, the resident's side: create, fill, upload, submit, cancel; and who may
see a request at all.

Visibility is one rule, applied everywhere (:func:`get_visible`): residents see their own
requests, operators and office admins their office's, RW admins the requests of their RW in
their office that need a cover letter. Anything else answers 404, never 403, so the existence
of another person's request is not revealed.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.catalog.repository import ServiceRepository
from core.db import utcnow
from core.errors import (
    VALIDATION_MESSAGES,
    AppError,
    Conflict,
    NotFound,
    ValidationFailed,
)
from core.logging import current_request_id
from core.models import (
    CoverLetter,
    DocumentRequest,
    RequestUpload,
    Role,
    Service,
    UploadAccess,
    UploadKind,
    User,
)
from core.models import RequestState as S
from core.notifications import notify_user
from core.requests.repository import RequestRepository
from core.requests.schemas import RequestCreate
from core.requests.states import EDITABLE, transition
from core.requests.uploads import SCAN_TYPES, check_content, display_name
from core.storage import IncomingFile, Storage, keep_in_transaction

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
OPERATORS = frozenset({Role.operator, Role.office_admin})
# Replacements are kept for the operator; a cap keeps one request from filling the disk.
MAX_UPLOADS_PER_REQUEST = 40


class CounterOnly(AppError):
    status_code = 409
    code = "counter_only"


def new_code(length: int) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def _new_reference(session: Session) -> str:
    repo = RequestRepository(session)
    while True:
        reference = new_code(8)
        if not repo.reference_taken(reference):
            return reference


# --- visibility ------------------------------------------------------------------------------

def is_visible(request: DocumentRequest, actor: User) -> bool:
    if actor.role == Role.resident:
        return request.resident_id == actor.id
    if actor.office_id is None or request.office_id != actor.office_id:
        return False
    if actor.role in OPERATORS:
        return True
    if actor.role == Role.rw_admin:
        return request.cover_letter is not None and request.cover_letter.rw == actor.rw
    return False


def get_visible(session: Session, actor: User, request_id: uuid.UUID, *,
                lock: bool = False) -> DocumentRequest:
    request = RequestRepository(session).get(request_id, lock=lock)
    if request is None or not is_visible(request, actor):
        raise NotFound("Permohonan tidak ditemukan.")
    return request


def office_references(session: Session, actor: User, request_ids: Iterable[uuid.UUID]
                      ) -> dict[uuid.UUID, str]:
    """Reference numbers of the actor's office's requests, by id, in one query (for lists
    of the office's deliveries); another office's requests are left out."""
    if actor.office_id is None:
        return {}
    return RequestRepository(session).references(actor.office_id, request_ids)


def get_own(session: Session, resident: User, request_id: uuid.UUID, *,
            lock: bool = False) -> DocumentRequest:
    request = RequestRepository(session).get(request_id, lock=lock)
    if request is None or request.resident_id != resident.id:
        raise NotFound("Permohonan tidak ditemukan.")
    return request


def list_own(session: Session, resident: User, *, limit: int, offset: int
             ) -> list[DocumentRequest]:
    return RequestRepository(session).of_resident(resident.id, limit=limit, offset=offset)


def history(session: Session, actor: User, request_id: uuid.UUID) -> list[Any]:
    request = get_visible(session, actor, request_id)
    return audit.history(session, entity_type="document_request", entity_id=request.id)


# --- the resident's steps --------------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIELD_TYPE_MESSAGES = {
    "date": "Isi tanggal yang valid (TTTT-BB-HH).",
    "number": "Isi dengan angka saja.",
}


def _typed_value(kind: str, value: str) -> str | None:
    """The value as stored for a field of this type, or None when it is not one: a date is
    YYYY-MM-DD (what a date input sends), a number its digits (``1.500.000`` → ``1500000``)."""
    if kind == "date":
        if not _ISO_DATE.match(value):
            return None
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    if kind == "number":
        digits = re.sub(r"[.,\s]", "", value)
        return digits if digits.isdigit() and len(digits) <= 15 else None
    return value


def check_fields(service: Service, values: dict[str, str]) -> dict[str, str]:
    """The service's form: required fields present, lengths kept, unknown names refused."""
    spec = {f["name"]: f for f in service.fields or []}
    errors = []
    clean: dict[str, str] = {}
    for name in values:
        if name not in spec:
            errors.append({"field": f"fields.{name}", "message": "Isian tidak dikenal."})
    for name, f in spec.items():
        value = " ".join(str(values.get(name, "")).split())
        if not value:
            if f.get("required", True):
                errors.append({"field": f"fields.{name}",
                               "message": VALIDATION_MESSAGES["missing"]})
            continue
        if len(value) > int(f.get("max_length", 200)):
            errors.append({"field": f"fields.{name}", "message": "Isian terlalu panjang."})
            continue
        typed = _typed_value(f.get("type") or "text", value)
        if typed is None:
            errors.append({"field": f"fields.{name}",
                           "message": FIELD_TYPE_MESSAGES[str(f.get("type"))]})
            continue
        clean[name] = typed
    if errors:
        error = ValidationFailed(errors[0]["field"], errors[0]["message"])
        error.details["fields"] = errors
        raise error
    return clean


def create(session: Session, resident: User, data: RequestCreate) -> DocumentRequest:
    assert resident.office_id is not None
    service = ServiceRepository(session).by_code(resident.office_id, data.service)
    if service is None or not service.enabled:
        raise NotFound("Layanan tidak ditemukan.")
    if not service.online:
        raise CounterOnly(
            f"{service.name} hanya dapat diajukan di loket kantor. "
            f"{service.counter_note}".strip(),
            counter_note=service.counter_note, service=service.code)
    fields = check_fields(service, data.fields)
    request = RequestRepository(session).add(DocumentRequest(
        office_id=resident.office_id, resident_id=resident.id, service_id=service.id,
        reference=_new_reference(session), state=S.draft, fields=fields, rw=resident.rw,
    ))
    request.service = service
    audit.record(session, action="request.created", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=resident,
                 to_state=str(S.draft), data={"service": service.code})
    return request


def _require_editable(request: DocumentRequest) -> None:
    if request.state not in EDITABLE:
        raise Conflict("Permohonan hanya dapat diubah saat masih draf atau perlu perbaikan.",
                       state=str(request.state))


def update_fields(session: Session, resident: User, request_id: uuid.UUID,
                  values: dict[str, str]) -> DocumentRequest:
    request = get_own(session, resident, request_id, lock=True)
    _require_editable(request)
    request.fields = check_fields(request.service, values)
    audit.record(session, action="request.fields_updated", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=resident)
    return request


def add_upload(session: Session, storage: Storage, resident: User, request_id: uuid.UUID,
               requirement_code: str, incoming: IncomingFile) -> RequestUpload:
    """Keep one scan for a requirement. Checks come first; the file is kept last and removed
    again if the transaction does not commit."""
    request = get_own(session, resident, request_id, lock=True)
    _require_editable(request)
    requirement = request.service.requirement(requirement_code)
    if requirement is None or not requirement.get("upload"):
        raise ValidationFailed("requirement", "Persyaratan ini tidak diunggah untuk layanan "
                                              "ini.")
    name = display_name(incoming.filename)
    content_type = check_content(incoming, SCAN_TYPES)
    repo = RequestRepository(session)
    if repo.count_uploads(request.id) >= MAX_UPLOADS_PER_REQUEST:
        raise Conflict("Batas jumlah unggahan untuk permohonan ini tercapai. Hubungi kantor.",
                       limit=MAX_UPLOADS_PER_REQUEST)
    now = utcnow()
    for old in repo.current_uploads(request.id, UploadKind.requirement):
        if old.requirement_code == requirement_code:
            old.replaced_at = now
    key = keep_in_transaction(session, storage, incoming)
    upload = repo.add_upload(RequestUpload(
        request_id=request.id, office_id=request.office_id, kind=UploadKind.requirement,
        requirement_code=requirement_code, storage_key=key, content_type=content_type,
        size=incoming.size, sha256=incoming.sha256, display_name=name,
        uploaded_by_id=resident.id, created_at=now,
    ))
    audit.record(session, action="request.upload_added", entity_type="document_request",
                 entity_id=request.id, office_id=request.office_id, actor=resident,
                 data={"requirement": requirement_code, "upload_id": str(upload.id),
                       "content_type": content_type, "size": incoming.size})
    session.expire(request, ["uploads"])
    return upload


def missing_uploads(session: Session, request: DocumentRequest) -> list[str]:
    have = {u.requirement_code
            for u in RequestRepository(session).current_uploads(request.id,
                                                                UploadKind.requirement)}
    return [r["code"] for r in request.service.requirements or []
            if r.get("upload") and r["code"] not in have]


def submit(session: Session, resident: User, request_id: uuid.UUID) -> DocumentRequest:
    """Send a draft (to the RW first when a cover letter is needed), or send a revised
    request back to the operator."""
    request = get_own(session, resident, request_id, lock=True)
    _require_editable(request)
    check_fields(request.service, request.fields or {})
    missing = missing_uploads(session, request)
    if missing:
        error = ValidationFailed("uploads", "Unggah semua persyaratan terlebih dahulu.")
        error.details["missing"] = missing
        raise error
    service = request.service
    values = {"service": service.name, "reference": request.reference}
    if request.state == S.needs_revision:
        transition(session, request, S.verifying, actor=resident, note="Perbaikan dikirim")
        request.revision_note = None
        return request
    if service.needs_cover_letter:
        if not request.rw:
            raise ValidationFailed("rw", "Lengkapi RT/RW di profil Anda untuk surat pengantar.")
        RequestRepository(session).add_cover_letter(CoverLetter(
            request_id=request.id, office_id=request.office_id, rw=request.rw,
            rt=resident.rt))
        session.expire(request, ["cover_letter"])
        transition(session, request, S.cover_letter_pending, actor=resident)
        notify_user(session, resident, "request_cover_letter_pending", rw=request.rw, **values)
        return request
    transition(session, request, S.submitted, actor=resident)
    notify_user(session, resident, "request_submitted", office=request.office.name, **values)
    return request


def cancel(session: Session, resident: User, request_id: uuid.UUID) -> DocumentRequest:
    request = get_own(session, resident, request_id, lock=True)
    transition(session, request, S.cancelled, actor=resident, note="Dibatalkan pemohon")
    notify_user(session, resident, "request_cancelled", service=request.service.name,
                reference=request.reference)
    return request


def open_upload(session: Session, storage: Storage, actor: User, request_id: uuid.UUID,
                upload_id: uuid.UUID) -> tuple[RequestUpload, Any]:
    """An upload the actor may see (the owner or the office's operators), opened for reading.
    A signed document is the resident's only when the service offers a digital copy."""
    request = get_visible(session, actor, request_id)
    if actor.role not in OPERATORS and actor.id != request.resident_id:
        raise NotFound("Berkas tidak ditemukan.")
    upload = RequestRepository(session).upload(request.id, upload_id)
    if upload is None or upload.storage_key is None:
        raise NotFound("Berkas tidak ditemukan.")
    if upload.kind == UploadKind.signed_document and actor.role not in OPERATORS and \
            not request.service.digital_copy:
        raise NotFound("Berkas tidak ditemukan.")
    if not storage.exists(upload.storage_key):
        raise NotFound("Berkas tidak ditemukan.")
    if actor.id != request.resident_id:
        # Scans of identity papers are personal data: every staff view is on record, in the
        # access record (not in the request's story).
        record_view(session, request, upload, actor)
    return upload, storage.open(upload.storage_key)


# A browser fetching the same scan again at once (the image, then the same image opened in
# a tab, a reload of the page) is one look at it, not two.
SAME_VIEW_WITHIN = timedelta(seconds=30)


def record_view(session: Session, request: DocumentRequest, upload: RequestUpload,
                actor: User) -> UploadAccess | None:
    """One row per staff look at a scan; a fetch of the same scan by the same person within
    :data:`SAME_VIEW_WITHIN` counts as the same look."""
    now = utcnow()
    recent = session.scalar(
        select(UploadAccess.id).where(UploadAccess.upload_id == upload.id,
                                      UploadAccess.actor_id == actor.id,
                                      UploadAccess.viewed_at > now - SAME_VIEW_WITHIN).limit(1))
    if recent is not None:
        return None
    row = UploadAccess(office_id=request.office_id, request_id=request.id,
                       upload_id=upload.id, actor_id=actor.id, actor_role=str(actor.role),
                       http_request_id=current_request_id(), viewed_at=now)
    session.add(row)
    session.flush()
    return row



