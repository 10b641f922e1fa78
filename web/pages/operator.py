"""Operators (and office admins): dashboard, request queue and the processing screen.

Delivery screens (exceptions, delivery detail, provider health, costs, handover sheet) live
in ``web.pages.operator_delivery`` and appear once the delivery package is there.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from core.errors import Forbidden, NotFound
from core.models import RequestState, Role
from core.requests import processing
from core.requests import service as requests
from core.requests.schemas import CounterHandoverIn, NoteIn, ReasonIn
from core.storage import storage_from_settings
from web.context import OperatorPage, Page, UploadPageDep
from web.forms import FormState, parse, service_call, text_values
from web.pages import operator_delivery
from web.views import request_timeline, requirement_rows, signed_document

router = APIRouter()

# What an operator must act on, in the order they should look at it.
ACTION_STATES = (RequestState.submitted, RequestState.verifying, RequestState.processing,
                 RequestState.handover_pending, RequestState.finished,
                 RequestState.needs_revision, RequestState.cover_letter_pending)


def state_counts(p: Page) -> dict[str, int]:
    return processing.queue_counts(p.db, p.me, ACTION_STATES)


def exceptions(p: Page) -> list:
    """Delivery exceptions first: stuck, late, no courier, failed, returned, PIN locked."""
    return operator_delivery.exceptions_for(p)


@router.get("/operator")
def dashboard(p: OperatorPage) -> Response:
    return p.render("operator/dashboard.html", counts=state_counts(p),
                    exceptions=exceptions(p))


@router.get("/operator/_ringkasan")
def dashboard_live(p: OperatorPage) -> Response:
    """The part of the dashboard htmx refreshes every few seconds."""
    return p.render("operator/_summary.html", counts=state_counts(p),
                    exceptions=exceptions(p))


@router.get("/operator/permohonan")
def queue_page(p: OperatorPage, state: str = "", mine: bool = False) -> Response:
    states = [RequestState(state)] if state in RequestState.__members__ else None
    items = processing.queue(p.db, p.me, states=states, mine=mine, limit=200, offset=0)
    return p.render("operator/queue.html", items=items, state=state, mine=mine,
                    states=processing.QUEUE_STATES)


def _detail(p: Page, request_id: uuid.UUID, *, form: FormState | None = None,
            status_code: int = 200) -> Response:
    req = requests.get_visible(p.db, p.me, request_id)
    if req.state == RequestState.draft:
        raise NotFound("Permohonan tidak ditemukan.")  # still the resident's private work
    delivery = operator_delivery.delivery_of(p, req.id)
    return p.render("operator/request.html", status_code=status_code, req=req,
                    delivery_link=f"/operator/pengantaran/{delivery.id}" if delivery else None,
                    rows=requirement_rows(req), signed=signed_document(req),
                    timeline=request_timeline(p.db, p.t, req, staff_view=True),
                    form=form or FormState(), max_mb=p.settings.max_upload_bytes // 1048576)


@router.get("/operator/permohonan/{request_id}")
def request_page(request_id: uuid.UUID, p: OperatorPage) -> Response:
    return _detail(p, request_id)


def _act(p: Page, request_id: uuid.UUID, action, schema=None, **extra) -> Response:
    """Run one operator action; a refusal shows the screen again with the message."""
    state = FormState(values=text_values(p.form))
    args = {}
    if schema is not None:
        data = parse(schema, state, p.t, **extra)
        if data is None:
            return _detail(p, request_id, form=state, status_code=422)
        args = data.model_dump()
    with service_call(p.db, state, p.t):
        action(p.db, p.me, request_id, **args)
    if not state.ok:
        return _detail(p, request_id, form=state, status_code=422)
    p.flash("success", "op.done")
    return p.redirect(f"/operator/permohonan/{request_id}")


@router.post("/operator/permohonan/{request_id}/tangani")
def assign(request_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, request_id, processing.assign_to_self)


@router.post("/operator/permohonan/{request_id}/perbaikan")
def ask_revision(request_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, request_id, processing.request_revision, NoteIn)


@router.post("/operator/permohonan/{request_id}/proses")
def start_processing(request_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, request_id, processing.start_processing)


@router.post("/operator/permohonan/{request_id}/tolak")
def reject(request_id: uuid.UUID, p: OperatorPage) -> Response:
    return _act(p, request_id, processing.reject, ReasonIn)


@router.post("/operator/permohonan/{request_id}/serahkan")
def counter_handover(request_id: uuid.UUID, p: OperatorPage) -> Response:
    checked = [v for v in p.form.getlist("originals_checked") if isinstance(v, str)]
    return _act(p, request_id, processing.record_counter_handover, CounterHandoverIn,
                originals_checked=checked)


@router.post("/operator/permohonan/{request_id}/kode-ambil-baru")
def new_pickup_code(request_id: uuid.UUID, p: OperatorPage) -> Response:
    """After a locked code: a new one goes to the resident's phone."""
    return _act(p, request_id, processing.reset_pickup_code)


@router.post("/operator/permohonan/{request_id}/selesai")
def finish(request_id: uuid.UUID, u: UploadPageDep) -> Response:
    """Mark finished with the signed PDF (streamed to disk like the API's upload)."""
    p = require_operator(u.page)
    state = FormState()
    if u.refused is not None:
        state.add("file", p.t.service(u.refused.message))
    elif u.received is None or u.received.file is None:
        state.add("file", p.t("form.upload_lost"))
    else:
        with service_call(p.db, state, p.t):
            processing.finish(p.db, storage_from_settings(p.settings), p.me, request_id,
                              u.received.file)
        if state.ok:
            p.flash("success", "op.done")
            return p.redirect(f"/operator/permohonan/{request_id}")
        if state.message and not state.errors:
            state.add("file", state.message)
    return _detail(p, request_id, form=state, status_code=422)


def require_operator(p: Page) -> Page:
    if p.me.role not in (Role.operator, Role.office_admin):
        raise Forbidden()
    return p
