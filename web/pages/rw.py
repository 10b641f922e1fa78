"""RW heads: the cover-letter queue of their RW, approve (with the letter number) or reject."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from core.models import CoverLetterStatus
from core.requests import cover_letters
from core.requests.schemas import CoverLetterApprove, ReasonIn
from web.context import Page, RwPage
from web.forms import FormState, parse, service_call, text_values

router = APIRouter()


def _queue(p: Page, *, forms: dict[str, FormState] | None = None,
           status_code: int = 200) -> Response:
    pending = cover_letters.list_for_rw(p.db, p.me, status=CoverLetterStatus.pending,
                                        limit=200, offset=0)
    decided = [c for c in cover_letters.list_for_rw(p.db, p.me, status=None, limit=50,
                                                      offset=0)
               if c.status != CoverLetterStatus.pending]
    return p.render("rw/queue.html", status_code=status_code, pending=pending,
                    decided=decided, forms=forms or {}, empty_form=FormState())


@router.get("/rw")
def queue_page(p: RwPage) -> Response:
    return _queue(p)


def _decide(p: Page, request_id: uuid.UUID, schema, action, flash_key: str
            ) -> Response:
    state = FormState(values=text_values(p.form))
    data = parse(schema, state, p.t)
    if data is not None:
        with service_call(p.db, state, p.t):
            action(p.db, p.me, request_id, **data.model_dump())
    if not state.ok:
        return _queue(p, forms={str(request_id): state}, status_code=422)
    p.flash("success", flash_key)
    return p.redirect("/rw")


@router.post("/rw/{request_id}/setujui")
def approve(request_id: uuid.UUID, p: RwPage) -> Response:
    return _decide(p, request_id, CoverLetterApprove, cover_letters.approve, "rw.approved")


@router.post("/rw/{request_id}/tolak")
def reject(request_id: uuid.UUID, p: RwPage) -> Response:
    return _decide(p, request_id, ReasonIn, cover_letters.reject, "rw.rejected")
