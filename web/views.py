"""Small presentation helpers shared by pages: timelines, state badges, files, QR codes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from markupsafe import Markup
from sqlalchemy.orm import Session

from core import audit
from core.models import DocumentRequest, RequestState
from web import labels
from web.i18n import Translator

STATE_TONE = {
    RequestState.needs_revision: "warn", RequestState.finished: "ok",
    RequestState.handover_pending: "info", RequestState.completed: "ok",
    RequestState.picked_up: "ok", RequestState.delivered: "ok",
    RequestState.rejected: "bad", RequestState.cancelled: "bad",
}


def state_badge(t: Translator, state: str) -> Markup:
    tone = STATE_TONE.get(RequestState(state), "")
    return Markup('<span class="badge {}">{}</span>').format(tone, t(f"state.{state}"))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    note: str | None


def request_timeline(session: Session, t: Translator, request: DocumentRequest, *,
                     staff_view: bool = False) -> list[TimelineEntry]:
    """The request's story in words (who opened its scans is in the access record, not
    here). Residents see state changes and their own steps; staff also see who did each."""
    entries = []
    for event in audit.history(session, entity_type="document_request", entity_id=request.id):
        if event.action in HIDDEN_ACTIONS:
            continue
        if event.action == "request.state_changed" and event.to_state:
            text = labels.label(t, labels.REQUEST_STATE, event.to_state,
                                fallback=t("audit.request.state_changed"))
        elif staff_view or event.action in RESIDENT_ACTIONS:
            text = labels.audit_action(t, event.action, event.data)
        else:
            continue
        if staff_view:
            text = f"{text} · {labels.role(t, event.actor_role)}"
        entries.append(TimelineEntry(at=event.created_at, text=text,
                                     note=labels.note(t, event.note)))
    return entries


# Not part of a request's story: scan views recorded before the access record existed.
HIDDEN_ACTIONS = frozenset({"request.upload_viewed"})
# The steps a resident sees besides state changes (their own, and the document's).
RESIDENT_ACTIONS = frozenset({
    "request.created", "request.upload_added", "request.fields_updated", "request.assigned",
    "request.document_signed", "request.handover_chosen", "request.returned_to_office",
    "request.document_revoked"})


def inline_qr(data: str) -> Markup:
    """An SVG QR code to put straight into the page (no image request, works offline)."""
    out = io.BytesIO()
    # omitsize: a viewBox instead of a fixed size, so CSS can scale it for phones and print
    segno.make(data, error="m").save(out, kind="svg", scale=4, border=2, omitsize=True,
                                     xmldecl=False, svgclass="qr", nl=False)
    return Markup(out.getvalue().decode())  # noqa: S704 - segno's own SVG, no user markup


def requirement_rows(request: DocumentRequest) -> list[dict[str, Any]]:
    """Each requirement with its current scan; the RT/RW cover letter with the letter the
    RW head issued in the system (``letter``: None until the request is sent)."""
    current = {u.requirement_code: u for u in request.uploads
               if u.kind == "requirement" and u.replaced_at is None}
    service = request.service
    return [{"req": r, "upload": current.get(r["code"]),
             "issued": service.issued_in_system(r),
             "letter": request.cover_letter if service.issued_in_system(r) else None}
            for r in service.requirements or []]


def signed_document(request: DocumentRequest) -> Any:
    return next((u for u in reversed(request.uploads) if u.kind == "signed_document"), None)
