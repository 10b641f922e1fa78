"""Request routes: the resident's, the operators' (/operator/...), the RW admins'
(/rw/...), and the public verification API. Thin: each calls one service function."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import StreamingResponse

from core.deps import (
    ClientIp,
    CurrentUser,
    OfficeAdminUser,
    OperatorUser,
    ResidentUser,
    RwAdminUser,
    SessionDep,
    SettingsDep,
)
from core.errors import Conflict, NotFound
from core.models import CoverLetterStatus, HandoverMethod, RequestState, RequestUpload
from core.openapi import binary, errors
from core.requests import cover_letters, handover, processing, service, verification
from core.requests.schemas import (
    CounterHandoverIn,
    CoverLetterApprove,
    CoverLetterItem,
    HandoverChoice,
    HistoryItem,
    NoteIn,
    PickupInfo,
    ReasonIn,
    RequestCreate,
    RequestFieldsUpdate,
    RequestOut,
    UploadOut,
    VerificationOut,
)
from core.requests.uploads import SCAN_TYPES, Upload, require_file
from core.settings import Settings, get_settings
from core.storage import Storage, storage_from_settings

requests_router = APIRouter(prefix="/requests", tags=["requests"])
operator_router = APIRouter(prefix="/operator/requests", tags=["operator"])
rw_router = APIRouter(prefix="/rw/cover-letters", tags=["cover letters"])
verify_router = APIRouter(prefix="/verify", tags=["verify"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]  # above: a DB integer overflow (500)


def get_storage(settings: Annotated[Settings, Depends(get_settings)]) -> Storage:
    return storage_from_settings(settings)


StorageDep = Annotated[Storage, Depends(get_storage)]


def _multipart_doc(*, with_requirement: bool) -> dict:
    """The body is streamed by hand (core.requests.uploads), so FastAPI cannot describe it."""
    properties: dict = {"file": {"type": "string", "format": "binary"}}
    if with_requirement:
        properties["requirement"] = {"type": "string", "description": "Requirement code"}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": properties, "required": sorted(properties)}}}}}


def _out(request) -> RequestOut:
    return RequestOut.model_validate(request)


def _file_response(upload: RequestUpload, handle: BinaryIO) -> StreamingResponse:
    def chunks() -> Iterator[bytes]:
        try:
            while chunk := handle.read(64 * 1024):
                yield chunk
        finally:
            handle.close()

    ascii_name = upload.display_name.encode("ascii", "replace").decode().replace('"', "'")
    headers = {
        "Content-Disposition": f'inline; filename="{ascii_name}"',
        "Content-Length": str(upload.size),
        # The type was established from the content; the browser must not guess another.
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    if upload.content_type.startswith("image/"):
        # (Not for PDFs: a strict policy stops the browser's own PDF viewer.)
        headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return StreamingResponse(chunks(), media_type=upload.content_type, headers=headers)


# --- resident ---------------------------------------------------------------------------------

@requests_router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestOut,
                      responses=errors(404))
def create_request(data: RequestCreate, resident: ResidentUser,
                   session: SessionDep) -> RequestOut:
    """Start a request (a draft) for an online service of the resident's office."""
    return _out(service.create(session, resident, data))


@requests_router.get("", response_model=list[RequestOut])
def my_requests(resident: ResidentUser, session: SessionDep, limit: Limit = 50,
                offset: Offset = 0) -> list[RequestOut]:
    return [_out(r) for r in service.list_own(session, resident, limit=limit, offset=offset)]


@requests_router.get("/{request_id}", response_model=RequestOut)
def get_request(request_id: uuid.UUID, actor: CurrentUser, session: SessionDep) -> RequestOut:
    return _out(service.get_visible(session, actor, request_id))


@requests_router.get("/{request_id}/history", response_model=list[HistoryItem])
def request_history(request_id: uuid.UUID, actor: CurrentUser,
                    session: SessionDep) -> list[HistoryItem]:
    return [HistoryItem.model_validate(e) for e in service.history(session, actor, request_id)]


@requests_router.patch("/{request_id}", response_model=RequestOut)
def update_request(request_id: uuid.UUID, data: RequestFieldsUpdate, resident: ResidentUser,
                   session: SessionDep) -> RequestOut:
    return _out(service.update_fields(session, resident, request_id, data.fields))


@requests_router.post("/{request_id}/uploads", status_code=status.HTTP_201_CREATED,
                      response_model=UploadOut,
                      openapi_extra=_multipart_doc(with_requirement=True))
def upload_scan(request_id: uuid.UUID, resident: ResidentUser, session: SessionDep,
                storage: StorageDep, upload: Upload) -> UploadOut:
    """multipart/form-data: ``requirement`` (a requirement code) and ``file`` (JPEG, PNG or
    PDF, at most ``SIPOKE_MAX_UPLOAD_BYTES``)."""
    kept = service.add_upload(session, storage, resident, request_id,
                              upload.fields.get("requirement", ""), require_file(upload))
    return UploadOut.model_validate(kept)


@requests_router.get("/{request_id}/uploads/{upload_id}",
                     responses=binary(*sorted(SCAN_TYPES), description="The scan"))
def download_upload(request_id: uuid.UUID, upload_id: uuid.UUID, actor: CurrentUser,
                    session: SessionDep, storage: StorageDep) -> StreamingResponse:
    """The file inline, for its owner and the office's operators."""
    return _file_response(*service.open_upload(session, storage, actor, request_id,
                                               upload_id))


@requests_router.post("/{request_id}/submit", response_model=RequestOut)
def submit_request(request_id: uuid.UUID, resident: ResidentUser,
                   session: SessionDep) -> RequestOut:
    return _out(service.submit(session, resident, request_id))


@requests_router.post("/{request_id}/cancel", response_model=RequestOut)
def cancel_request(request_id: uuid.UUID, resident: ResidentUser,
                   session: SessionDep) -> RequestOut:
    return _out(service.cancel(session, resident, request_id))


class UseDeliveries(Conflict):
    code = "use_deliveries"
    message = ("Antar ke rumah dipesan lewat POST /api/v1/deliveries (dengan alamat dan titik "
               "lokasi); jawabannya adalah pengantaran itu.")


@requests_router.post("/{request_id}/handover", response_model=RequestOut,
                      responses=errors(409))
def choose_handover(request_id: uuid.UUID, data: HandoverChoice, resident: ResidentUser,
                    session: SessionDep) -> RequestOut:
    """Pickup at the office, or the digital copy only (where offered). Home delivery is
    chosen with ``POST /api/v1/deliveries`` only: here it answers 409 ``use_deliveries``."""
    if data.method == HandoverMethod.delivery:
        raise UseDeliveries(use="POST /api/v1/deliveries")
    return _out(handover.choose(session, resident, request_id, data.method))


@requests_router.get("/{request_id}/pickup", response_model=PickupInfo)
def pickup_info(request_id: uuid.UUID, resident: ResidentUser, session: SessionDep,
                settings: SettingsDep) -> PickupInfo:
    request = handover.pickup_details(session, resident, request_id)
    assert request.pickup_code
    return PickupInfo(
        reference=request.reference, pickup_code=request.pickup_code,
        qr_svg_url=f"/api/v1/requests/{request.id}/pickup/qr.svg",
        office_name=request.office.name, office_address=request.office.address,
        office_hours=request.office.hours or {},
        originals=[r["name"] for r in request.service.originals])


@requests_router.get("/{request_id}/pickup/qr.svg",
                     responses=binary("image/svg+xml", description="The pickup QR code"))
def pickup_qr(request_id: uuid.UUID, resident: ResidentUser, session: SessionDep) -> Response:
    request = handover.pickup_details(session, resident, request_id)
    data = f"SIPOKE-AMBIL:{request.reference}:{request.pickup_code}"
    return Response(verification.qr_svg(data), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


# --- operators --------------------------------------------------------------------------------

@operator_router.get("", response_model=list[RequestOut])
def operator_queue(actor: OperatorUser, session: SessionDep,
                   state: Annotated[list[RequestState] | None, Query()] = None,
                   mine: bool = False, limit: Limit = 50, offset: Offset = 0
                   ) -> list[RequestOut]:
    """The office's requests by state, longest waiting first (drafts are never shown)."""
    return [_out(r) for r in processing.queue(session, actor, states=state, mine=mine,
                                              limit=limit, offset=offset)]


@operator_router.post("/{request_id}/assign", response_model=RequestOut)
def assign(request_id: uuid.UUID, actor: OperatorUser, session: SessionDep) -> RequestOut:
    return _out(processing.assign_to_self(session, actor, request_id))


@operator_router.post("/{request_id}/revision", response_model=RequestOut)
def ask_revision(request_id: uuid.UUID, data: NoteIn, actor: OperatorUser,
                 session: SessionDep) -> RequestOut:
    return _out(processing.request_revision(session, actor, request_id, data.note))


@operator_router.post("/{request_id}/processing", response_model=RequestOut)
def mark_processing(request_id: uuid.UUID, actor: OperatorUser,
                    session: SessionDep) -> RequestOut:
    return _out(processing.start_processing(session, actor, request_id))


@operator_router.post("/{request_id}/reject", response_model=RequestOut)
def reject_request(request_id: uuid.UUID, data: ReasonIn, actor: OperatorUser,
                   session: SessionDep) -> RequestOut:
    return _out(processing.reject(session, actor, request_id, data.reason))


@operator_router.post("/{request_id}/finish", response_model=RequestOut,
                     openapi_extra=_multipart_doc(with_requirement=False))
def finish_request(request_id: uuid.UUID, actor: OperatorUser, session: SessionDep,
                   storage: StorageDep, upload: Upload) -> RequestOut:
    """multipart/form-data ``file``: the signed document's scan (PDF)."""
    return _out(processing.finish(session, storage, actor, request_id, require_file(upload)))


@operator_router.post("/{request_id}/counter-handover", response_model=RequestOut,
                      responses=errors(423))
def counter_handover(request_id: uuid.UUID, data: CounterHandoverIn, actor: OperatorUser,
                     session: SessionDep) -> RequestOut:
    """The resident picked the document up: pickup code checked, originals ticked."""
    return _out(processing.record_counter_handover(
        session, actor, request_id, pickup_code=data.pickup_code,
        originals_checked=data.originals_checked))


@operator_router.post("/{request_id}/pickup-code/reset", response_model=RequestOut)
def reset_pickup_code(request_id: uuid.UUID, actor: OperatorUser,
                      session: SessionDep) -> RequestOut:
    """After the code locked (too many wrong tries): send the resident a new pickup code."""
    return _out(processing.reset_pickup_code(session, actor, request_id))


@operator_router.post("/{request_id}/revoke", response_model=RequestOut)
def revoke_document(request_id: uuid.UUID, data: ReasonIn, actor: OfficeAdminUser,
                    session: SessionDep) -> RequestOut:
    return _out(processing.revoke_document(session, actor, request_id, data.reason))


@operator_router.get("/{request_id}/label.svg",
                     responses=binary("image/svg+xml", description="The label's QR code"))
def envelope_label_qr(request_id: uuid.UUID, actor: OperatorUser, session: SessionDep,
                      settings: SettingsDep) -> Response:
    """The verification QR printed on the envelope label."""
    request = service.get_visible(session, actor, request_id)
    if not request.verification_code:
        raise NotFound("Dokumen belum diterbitkan.")
    url = verification.verification_url(settings.base_url, request)
    return Response(verification.qr_svg(url), media_type="image/svg+xml")


# --- RW admins --------------------------------------------------------------------------------

@rw_router.get("", response_model=list[CoverLetterItem])
def rw_cover_letters(actor: RwAdminUser, session: SessionDep,
                     status_: Annotated[CoverLetterStatus | None, Query(alias="status")] = None,
                     limit: Limit = 50, offset: Offset = 0) -> list[CoverLetterItem]:
    """Cover letters of the admin's own RW only."""
    return [CoverLetterItem.model_validate(c) for c in cover_letters.list_for_rw(
        session, actor, status=status_, limit=limit, offset=offset)]


@rw_router.post("/{request_id}/approve", response_model=CoverLetterItem)
def approve_cover_letter(request_id: uuid.UUID, data: CoverLetterApprove, actor: RwAdminUser,
                         session: SessionDep) -> CoverLetterItem:
    return CoverLetterItem.model_validate(cover_letters.approve(
        session, actor, request_id, number=data.number, issued_on=data.issued_on))


@rw_router.post("/{request_id}/reject", response_model=CoverLetterItem)
def reject_cover_letter(request_id: uuid.UUID, data: ReasonIn, actor: RwAdminUser,
                        session: SessionDep) -> CoverLetterItem:
    return CoverLetterItem.model_validate(cover_letters.reject(
        session, actor, request_id, reason=data.reason))


# --- public verification ----------------------------------------------------------------------

@verify_router.get("/{code}", response_model=VerificationOut, responses=errors(429))
def verify_document(code: str, session: SessionDep, ip: ClientIp) -> VerificationOut:
    """Public: is this paper genuine and still valid? Limited per client address."""
    return verification.lookup(session, code, client_ip=ip)


ROUTERS = (requests_router, operator_router, rw_router, verify_router)
