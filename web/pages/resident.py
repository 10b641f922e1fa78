"""Residents: the catalog, a new request with uploads from the phone camera, my requests
with their timeline, revisions, cancelling, and the pickup/delivery choice.

Every action calls the same ``core.requests`` / ``core.catalog`` functions as the API.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from core.catalog import service as catalog
from core.errors import Forbidden, NotFound
from core.models import HandoverMethod, RequestState, Role, Service
from core.offices import service as offices
from core.requests import handover, verification
from core.requests import service as requests
from core.requests.schemas import RequestCreate
from core.requests.states import EDITABLE
from core.requests.verification import format_code
from core.storage import storage_from_settings
from web.context import Page, PageDep, ResidentPage, SignedIn, UploadPageDep
from web.forms import FormState, service_call, text_values
from web.views import inline_qr, request_timeline, requirement_rows, signed_document

router = APIRouter()


def _matches(service: Service, query: str) -> bool:
    words = query.lower().split()
    haystack = " ".join([service.name, service.description or "",
                         " ".join(r.get("name", "") for r in service.requirements or [])]).lower()
    return all(w in haystack for w in words)


@router.get("/layanan/{slug}")
def catalog_page(slug: str, p: PageDep, q: str = "") -> Response:
    office = offices.get_public(p.db, slug)
    services = [s for s in catalog.list_public(p.db, slug) if _matches(s, q)]
    template = "resident/_service_list.html" if p.request.headers.get("hx-request") \
        else "resident/catalog.html"
    return p.render(template, office=office, services=services, q=q)


@router.get("/layanan/{slug}/{code}")
def service_page(slug: str, code: str, p: PageDep) -> Response:
    office = offices.get_public(p.db, slug)
    svc = catalog.get_public(p.db, slug, code)
    return p.render("resident/service.html", office=office, service=svc,
                    can_apply=_can_apply(p, office.id))


def _can_apply(p: Page, office_id: uuid.UUID) -> bool:
    return p.user is not None and p.user.role == Role.resident and p.user.office_id == office_id


def _new_request_form(p: Page, svc: Service, state: FormState, status_code: int = 200
                      ) -> Response:
    return p.render("resident/new_request.html", status_code=status_code, service=svc,
                    office=p.me.office, form=state)


def _to_the_counter(p: Page, slug: str, svc: Service) -> Response:
    """A counter-only service has no online form: its page says to come to the counter, and
    with what (the counter note and the requirements)."""
    p.flash("warning", "req.counter_only", service=svc.name)
    return p.redirect(f"/layanan/{slug}/{svc.code}")


@router.get("/layanan/{slug}/{code}/ajukan")
def new_request_page(slug: str, code: str, p: ResidentPage) -> Response:
    svc = _service_for_resident(p, slug, code)
    if not svc.online:
        return _to_the_counter(p, slug, svc)
    return _new_request_form(p, svc, FormState())


def _service_for_resident(p: Page, slug: str, code: str) -> Service:
    svc = catalog.get_public(p.db, slug, code)
    if svc.office_id != p.me.office_id:
        # A resident applies at their own office only; another office's form is not theirs.
        raise NotFound("Layanan tidak ditemukan.")
    return svc


@router.post("/layanan/{slug}/{code}/ajukan")
def create_request(slug: str, code: str, p: ResidentPage) -> Response:
    svc = _service_for_resident(p, slug, code)
    if not svc.online:
        return _to_the_counter(p, slug, svc)
    state = FormState(values=text_values(p.form))
    fields = {k.removeprefix("fields."): v for k, v in state.values.items()
              if k.startswith("fields.")}
    created = None
    with service_call(p.db, state, p.t):
        created = requests.create(p.db, p.me, RequestCreate(service=svc.code, fields=fields))
    if created is None or not state.ok:
        return _new_request_form(p, svc, state, status_code=422)
    return p.redirect(f"/permohonan/{created.id}")


@router.get("/permohonan")
def my_requests(p: ResidentPage) -> Response:
    items = requests.list_own(p.db, p.me, limit=100, offset=0)
    return p.render("resident/my_requests.html", items=items)


def _detail(p: Page, request_id: uuid.UUID, *, errors: FormState | None = None,
            status_code: int = 200) -> Response:
    req = requests.get_own(p.db, p.me, request_id)
    missing = requests.missing_uploads(p.db, req) if req.state in EDITABLE else []
    return p.render(
        "resident/request.html", status_code=status_code, req=req,
        rows=requirement_rows(req), missing=missing, editable=req.state in EDITABLE,
        timeline=request_timeline(p.db, p.t, req), errors=errors or FormState(),
        signed=signed_document(req), max_mb=p.settings.max_upload_bytes // (1024 * 1024),
        pickup_qr=inline_qr(f"SIPOKE-AMBIL:{req.reference}:{req.pickup_code}")
        if req.pickup_code and req.handover_method == HandoverMethod.pickup else None,
        verify_code=format_code(req.verification_code) if req.verification_code else None,
        can_change=_can_change(p, req), digital=_digital_copy(p, req))


def _digital_copy(p: Page, req) -> dict[str, object] | None:
    """The signed PDF, its verification code and a QR of the public check, once the resident
    took the digital copy (the pickup screen keeps its one QR, the pickup code's)."""
    if req.handover_method != HandoverMethod.digital or not req.service.digital_copy \
            or not req.verification_code or signed_document(req) is None \
            or req.revoked_at is not None \
            or req.state in (RequestState.rejected, RequestState.cancelled):
        return None
    url = verification.verification_url(p.settings.base_url, req)
    return {"download": f"/permohonan/{req.id}/dokumen", "verify_url": url,
            "code": format_code(req.verification_code), "qr": inline_qr(url)}


def _can_change(p: Page, req) -> bool:
    """May the resident still switch between pickup and delivery?"""
    if req.state not in (RequestState.finished, RequestState.handover_pending):
        return False
    if req.handover_method != HandoverMethod.delivery:
        return True
    port = handover.delivery_port()
    return port is not None and port.can_change(p.db, req)


@router.get("/permohonan/{request_id}")
def request_page(request_id: uuid.UUID, p: ResidentPage) -> Response:
    return _detail(p, request_id)


@router.post("/permohonan/{request_id}/unggah/{requirement_code}")
def upload_requirement(request_id: uuid.UUID, requirement_code: str,
                       u: UploadPageDep) -> Response:
    p = u.page
    if p.me.role != Role.resident:
        raise Forbidden()
    state = FormState()
    field = f"upload-{requirement_code}"
    if u.refused is not None:
        state.add(field, p.t.service(u.refused.message))
    elif u.received is None or u.received.file is None:
        state.add(field, p.t("form.upload_lost"))
    else:
        with service_call(p.db, state, p.t):
            upload = requests.add_upload(p.db, storage_from_settings(p.settings), p.me,
                                         request_id, requirement_code, u.received.file)
        if state.ok:
            p.flash("success", "req.uploaded_ok", name=upload.display_name)
            return p.redirect(f"/permohonan/{request_id}#req-{requirement_code}")
        if state.message and not state.errors:
            state.add(field, state.message)
    return _detail(p, request_id, errors=state, status_code=422)


@router.post("/permohonan/{request_id}/kirim")
def submit_request(request_id: uuid.UUID, p: ResidentPage) -> Response:
    state = FormState()
    with service_call(p.db, state, p.t):
        requests.submit(p.db, p.me, request_id)
    if not state.ok:
        return _detail(p, request_id, errors=state, status_code=422)
    p.flash("success", "req.submitted")
    return p.redirect(f"/permohonan/{request_id}")


@router.post("/permohonan/{request_id}/batal")
def cancel_request(request_id: uuid.UUID, p: ResidentPage) -> Response:
    state = FormState()
    with service_call(p.db, state, p.t):
        requests.cancel(p.db, p.me, request_id)
    if not state.ok:
        return _detail(p, request_id, errors=state, status_code=409)
    p.flash("info", "req.cancelled")
    return p.redirect(f"/permohonan/{request_id}")


@router.post("/permohonan/{request_id}/ambil")
def choose_pickup(request_id: uuid.UUID, p: ResidentPage) -> Response:
    return _choose(p, request_id, HandoverMethod.pickup)


@router.post("/permohonan/{request_id}/digital")
def choose_digital(request_id: uuid.UUID, p: ResidentPage) -> Response:
    return _choose(p, request_id, HandoverMethod.digital)


def _choose(p: Page, request_id: uuid.UUID, method: HandoverMethod, **where: object
            ) -> Response:
    state = FormState()
    with service_call(p.db, state, p.t):
        handover.choose(p.db, p.me, request_id, method, **where)  # type: ignore[arg-type]
    if not state.ok:
        return _detail(p, request_id, errors=state, status_code=409)
    if method == HandoverMethod.pickup:
        p.flash("success", "req.pickup_chosen")
    return p.redirect(f"/permohonan/{request_id}")


@router.get("/permohonan/{request_id}/dokumen")
def signed_copy(request_id: uuid.UUID, p: SignedIn) -> Response:
    """The signed PDF (the link in the digital-copy message): for the request's resident
    where the service offers a digital copy, and for the office's staff."""
    req = requests.get_visible(p.db, p.me, request_id)
    signed = signed_document(req)
    if signed is None:
        raise NotFound("Dokumen belum diterbitkan.")
    upload, handle = requests.open_upload(p.db, storage_from_settings(p.settings), p.me,
                                          request_id, signed.id)
    name = f"{req.reference}.pdf".replace('"', "")
    return StreamingResponse(handle, media_type=upload.content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/permohonan/{request_id}/berkas/{upload_id}")
def open_file(request_id: uuid.UUID, upload_id: uuid.UUID, p: SignedIn) -> Response:
    """A scan for its owner or the office's operators (the same rule as the API)."""
    upload, handle = requests.open_upload(p.db, storage_from_settings(p.settings), p.me,
                                          request_id, upload_id)
    disposition = "inline" if upload.content_type.startswith("image/") else "attachment"
    return StreamingResponse(handle, media_type=upload.content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{upload.sha256[:12]}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
