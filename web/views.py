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
    """The request's audit trail in words. Residents see state changes and their own steps;
    staff also see who handled it."""
    entries = []
    for event in audit.history(session, entity_type="document_request", entity_id=request.id):
        if event.action == "request.state_changed" and event.to_state:
            text = t(f"state.{event.to_state}")
        else:
            key = f"audit.{event.action}"
            text = t(key)
            if text == key:
                if not staff_view:
                    continue
                text = event.action
        if staff_view and event.actor_role:
            text = f"{text} · {t('role.' + event.actor_role)}"
        entries.append(TimelineEntry(at=event.created_at, text=text, note=event.note))
    return entries


def inline_qr(data: str) -> Markup:
    """An SVG QR code to put straight into the page (no image request, works offline)."""
    out = io.BytesIO()
    # omitsize: a viewBox instead of a fixed size, so CSS can scale it for phones and print
    segno.make(data, error="m").save(out, kind="svg", scale=4, border=2, omitsize=True,
                                     xmldecl=False, svgclass="qr", nl=False)
    return Markup(out.getvalue().decode())  # noqa: S704 - segno's own SVG, no user markup


def requirement_rows(request: DocumentRequest) -> list[dict[str, Any]]:
    current = {u.requirement_code: u for u in request.uploads
               if u.kind == "requirement" and u.replaced_at is None}
    return [{"req": r, "upload": current.get(r["code"])}
            for r in request.service.requirements or []]


def signed_document(request: DocumentRequest) -> Any:
    return next((u for u in reversed(request.uploads) if u.kind == "signed_document"), None)
